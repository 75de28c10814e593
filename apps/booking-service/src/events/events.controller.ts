import {
  BookingSubjects,
  createEventSchema,
  ErrorCode,
  ErrorMessages,
  fail,
  getByIdSchema,
  ok,
  seatsQuerySchema,
  type CreateEventCommand,
  type EventView,
  type GetByIdQuery,
  type SeatsQuery,
  type SeatUpdate,
  type ServiceReply,
} from '@booking/shared';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext } from '@nestjs/microservices';
import { commandStartBy } from '../common/command-deadline.js';
import { ValidPayload } from '../common/valid-payload.js';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { EventsRepository } from './events.repository.js';

@Controller()
export class EventCommandsController {
  constructor(
    private readonly events: EventsRepository,
    @Inject(BOOKING_SERVICE_CONFIG) private readonly config: BookingServiceConfig,
  ) {}

  @MessagePattern(BookingSubjects.createEvent)
  async create(
    @ValidPayload(createEventSchema) command: CreateEventCommand,
    @Ctx() context: NatsContext,
  ): Promise<ServiceReply<EventView>> {
    return ok(await this.events.create(command, commandStartBy(context, this.config)));
  }
}

@Controller()
export class EventQueriesController {
  constructor(private readonly events: EventsRepository) {}

  @MessagePattern(BookingSubjects.getEvent)
  async get(@ValidPayload(getByIdSchema) { id }: GetByIdQuery): Promise<ServiceReply<EventView>> {
    const event = await this.events.findById(id);
    return event ? ok(event) : fail({ code: ErrorCode.EventNotFound, message: ErrorMessages.eventNotFound(id) });
  }

  @MessagePattern(BookingSubjects.seatsLeft)
  async seats(@ValidPayload(seatsQuerySchema) { ids }: SeatsQuery): Promise<ServiceReply<SeatUpdate[]>> {
    return ok(await this.events.seatsLeft(ids));
  }

  @MessagePattern(BookingSubjects.listEvents)
  async list(): Promise<ServiceReply<EventView[]>> {
    return ok(await this.events.list());
  }
}
