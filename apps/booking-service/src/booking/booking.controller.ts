import { correlationIdOrNew, ReservationOutcome, type BookingMetrics } from '@booking/observability';
import {
  BookingSubjects,
  cancelCommandSchema,
  ErrorCode,
  ErrorMessages,
  fail,
  getByIdSchema,
  listBookingsSchema,
  ok,
  reserveBatchSchema,
  reserveCommandSchema,
  validate,
  type BookingHistoryView,
  type BookingView,
  type CancelCommand,
  type CancelledBookingView,
  type GetByIdQuery,
  type ListBookingsQuery,
  type ReserveBatchCommand,
  type ServiceReply,
} from '@booking/shared';
import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext, Payload } from '@nestjs/microservices';
import { commandStartBy } from '../common/command-deadline.js';
import { correlationIdOf } from '../common/correlation-id.js';
import { failureReply } from '../common/rpc-error.filter.js';
import { ValidPayload } from '../common/valid-payload.js';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { BOOKING_METRICS } from '../metrics/booking-metrics.module.js';
import { BookingQueries } from './booking-queries.js';
import { ReservationBatcher } from './reservation-batcher.js';
import { rejectionError, type Rejection } from './reservation-rules.js';
import { Reservations, type ReserveResult } from './reservations.js';

/** Commands that change bookings. */
@Controller()
export class BookingCommandsController {
  private readonly logger = new Logger(BookingCommandsController.name);

  constructor(
    private readonly batcher: ReservationBatcher,
    private readonly reservations: Reservations,
    @Inject(BOOKING_METRICS) private readonly metrics: BookingMetrics,
    @Inject(BOOKING_SERVICE_CONFIG) private readonly config: BookingServiceConfig,
  ) {}

  @MessagePattern(BookingSubjects.reserve)
  reserve(@Payload() payload: unknown, @Ctx() context: NatsContext): Promise<ServiceReply<BookingView>> {
    return this.reserveOne(payload, correlationIdOf(context), commandStartBy(context, this.config));
  }

  /**
   * A gateway's reservations that arrived together. They enter the batcher
   * together, so they share its next transaction; each gets its own answer,
   * also when another fails, since a reply lost to a neighbour's failure would
   * hide a booking that was made.
   */
  @MessagePattern(BookingSubjects.reserveBatch)
  async reserveBatch(
    @ValidPayload(reserveBatchSchema) input: ReserveBatchCommand,
    @Ctx() context: NatsContext,
  ): Promise<ServiceReply<ServiceReply<BookingView>[]>> {
    const startBy = commandStartBy(context, this.config);
    const replies = input.reservations.map(({ command, request_id }) =>
      this.reserveOne(command, correlationIdOrNew(request_id), startBy).catch((error: unknown) =>
        failureReply(error, this.logger, 'command'),
      ),
    );
    return ok(await Promise.all(replies));
  }

  /**
   * Validates on its own rather than with `ValidPayload`: each reservation of a
   * batch is refused alone, and a refused one still counts among the reservations.
   */
  private async reserveOne(
    payload: unknown,
    correlationId: string,
    startBy: number,
  ): Promise<ServiceReply<BookingView>> {
    const input = validate(reserveCommandSchema, payload);
    if (!input.success) {
      this.metrics.reservations.inc({ outcome: ReservationOutcome.invalid });
      return fail({ code: ErrorCode.Validation, message: input.message });
    }
    let result: ReserveResult;
    try {
      result = await this.batcher.reserve(input.data, correlationId, startBy);
    } catch (error) {
      this.metrics.reservations.inc({ outcome: ReservationOutcome.error });
      throw error;
    }
    if ('booking' in result) {
      this.metrics.reservations.inc({ outcome: ReservationOutcome.created });
      return ok(result.booking);
    }
    this.metrics.reservations.inc({ outcome: OUTCOME_BY_REJECTION[result.rejection.reason] });
    return fail(rejectionError(result.rejection, input.data));
  }

  @MessagePattern(BookingSubjects.cancel)
  async cancel(
    @ValidPayload(cancelCommandSchema) { id, retry_of: retryOf }: CancelCommand,
    @Ctx() context: NatsContext,
  ): Promise<ServiceReply<CancelledBookingView>> {
    const startBy = commandStartBy(context, this.config);
    const cancelled = await this.reservations.cancel(id, correlationIdOf(context), startBy, retryOf);
    return cancelled
      ? ok(cancelled)
      : fail({ code: ErrorCode.BookingNotFound, message: ErrorMessages.bookingNotFound(id) });
  }
}

const OUTCOME_BY_REJECTION: Record<Rejection['reason'], ReservationOutcome> = {
  already_booked: ReservationOutcome.duplicate,
  sold_out: ReservationOutcome.soldOut,
  sales_not_open: ReservationOutcome.salesNotOpen,
  sales_closed: ReservationOutcome.salesClosed,
  event_not_found: ReservationOutcome.notFound,
};

/** Read-only queries over bookings: plain reads, with no rule to apply. */
@Controller()
export class BookingQueriesController {
  constructor(private readonly bookings: BookingQueries) {}

  @MessagePattern(BookingSubjects.getBooking)
  async get(@ValidPayload(getByIdSchema) { id }: GetByIdQuery): Promise<ServiceReply<BookingView>> {
    const booking = await this.bookings.findById(id);
    return booking
      ? ok(booking)
      : fail({ code: ErrorCode.BookingNotFound, message: ErrorMessages.bookingNotFound(id) });
  }

  @MessagePattern(BookingSubjects.bookingHistory)
  async history(@ValidPayload(getByIdSchema) { id }: GetByIdQuery): Promise<ServiceReply<BookingHistoryView>> {
    const history = await this.bookings.history(id);
    return history
      ? ok(history)
      : fail({ code: ErrorCode.BookingNotFound, message: ErrorMessages.bookingNotFound(id) });
  }

  @MessagePattern(BookingSubjects.listBookings)
  async list(@ValidPayload(listBookingsSchema) query: ListBookingsQuery): Promise<ServiceReply<BookingView[]>> {
    return ok(await this.bookings.list(query));
  }
}
