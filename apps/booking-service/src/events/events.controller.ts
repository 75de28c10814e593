import {
  BookingSubjects,
  createEventSchema,
  ErrorCode,
  ErrorMessages,
  fail,
  getByIdSchema,
  ok,
  seatsQuerySchema,
  validate,
  type EventView,
  type SeatUpdate,
  type ServiceReply,
} from '@booking/shared';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext, Payload } from '@nestjs/microservices';
import { commandStartBy } from '../common/command-deadline.js';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { EventsRepository } from './events.repository.js';

@Controller()
export class EventCommandsController {
  constructor(
    private readonly events: EventsRepository,
    @Inject(BOOKING_SERVICE_CONFIG) private readonly config: BookingServiceConfig,
  ) {}

  @MessagePattern(BookingSubjects.createEvent)
  async create(@Payload() payload: unknown, @Ctx() context: NatsContext): Promise<ServiceReply<EventView>> {
    const input = validate(createEventSchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    return ok(await this.events.create(input.data, commandStartBy(context, this.config)));
  }
}

@Controller()
export class EventQueriesController {
  constructor(private readonly events: EventsRepository) {}

  @MessagePattern(BookingSubjects.getEvent)
  async get(@Payload() payload: unknown): Promise<ServiceReply<EventView>> {
    const input = validate(getByIdSchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    const event = await this.events.findById(input.data.id);
    return event
      ? ok(event)
      : fail({ code: ErrorCode.EventNotFound, message: ErrorMessages.eventNotFound(input.data.id) });
  }

  @MessagePattern(BookingSubjects.seatsLeft)
  async seats(@Payload() payload: unknown): Promise<ServiceReply<SeatUpdate[]>> {
    const input = validate(seatsQuerySchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    return ok(await this.events.seatsLeft(input.data.ids));
  }

  @MessagePattern(BookingSubjects.listEvents)
  async list(): Promise<ServiceReply<EventView[]>> {
    return ok(await this.events.list());
  }
}
