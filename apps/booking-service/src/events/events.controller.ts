import {
  BookingSubjects,
  createEventSchema,
  ErrorCode,
  ErrorMessages,
  fail,
  getByIdSchema,
  ok,
  validate,
  type EventView,
  type ServiceReply,
} from '@booking/shared';
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { EventsRepository } from './events.repository.js';

@Controller()
export class EventCommandsController {
  constructor(private readonly events: EventsRepository) {}

  @MessagePattern(BookingSubjects.createEvent)
  async create(@Payload() payload: unknown): Promise<ServiceReply<EventView>> {
    const input = validate(createEventSchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    return ok(await this.events.create(input.data));
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

  @MessagePattern(BookingSubjects.listEvents)
  async list(): Promise<ServiceReply<EventView[]>> {
    return ok(await this.events.list());
  }
}
