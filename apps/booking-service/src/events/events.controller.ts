import {
  BookingSubjects,
  createEventSchema,
  ErrorCode,
  ErrorMessages,
  fail,
  getByIdSchema,
  listEventsSchema,
  ok,
  seatsQuerySchema,
  updateEventCommandSchema,
  type CreateEventCommand,
  type EventView,
  type GetByIdQuery,
  type ListEventsQuery,
  type SeatsQuery,
  type SeatUpdate,
  type ServiceReply,
  type UpdateEventCommand,
} from '@booking/shared';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext } from '@nestjs/microservices';
import { commandStartBy } from '../common/command-deadline.js';
import { correlationIdOf } from '../common/correlation-id.js';
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

  /**
   * An organiser's change or closing of the sales, recorded as `event.updated` with the request's
   * correlation id; seats it frees (capacity raised, sales reopened) go to the waitlist in the same
   * transaction, their `booking.created` events with the same correlation id.
   */
  @MessagePattern(BookingSubjects.updateEvent)
  async update(
    @ValidPayload(updateEventCommandSchema) command: UpdateEventCommand,
    @Ctx() context: NatsContext,
  ): Promise<ServiceReply<EventView>> {
    const outcome = await this.events.update(command, correlationIdOf(context), commandStartBy(context, this.config));
    if ('event' in outcome) return ok(outcome.event);
    if ('conflict' in outcome) return fail({ code: ErrorCode.EventChangeConflict, message: outcome.conflict });
    return fail({ code: ErrorCode.EventNotFound, message: ErrorMessages.eventNotFound(command.id) });
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
  async list(@ValidPayload(listEventsSchema) query: ListEventsQuery): Promise<ServiceReply<EventView[]>> {
    return ok(await this.events.list(query));
  }
}
