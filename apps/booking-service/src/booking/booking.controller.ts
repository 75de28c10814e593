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
  type CancelledBookingView,
  type ServiceReply,
} from '@booking/shared';
import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext, Payload } from '@nestjs/microservices';
import { commandStartBy } from '../common/command-deadline.js';
import { correlationIdOf } from '../common/correlation-id.js';
import { failureReply } from '../common/rpc-error.filter.js';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { BOOKING_METRICS } from '../metrics/booking-metrics.module.js';
import { BookingRepository, type ReserveResult } from './booking.repository.js';
import { ReservationBatcher } from './reservation-batcher.js';
import { rejectionError, type Rejection } from './reservation.js';

/** Commands that change bookings. */
@Controller()
export class BookingCommandsController {
  private readonly logger = new Logger(BookingCommandsController.name);

  constructor(
    private readonly reservations: ReservationBatcher,
    private readonly bookings: BookingRepository,
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
    @Payload() payload: unknown,
    @Ctx() context: NatsContext,
  ): Promise<ServiceReply<ServiceReply<BookingView>[]>> {
    const input = validate(reserveBatchSchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    const startBy = commandStartBy(context, this.config);
    const replies = input.data.reservations.map(({ command, request_id }) =>
      this.reserveOne(command, correlationIdOrNew(request_id), startBy).catch((error: unknown) =>
        failureReply(error, this.logger, 'command'),
      ),
    );
    return ok(await Promise.all(replies));
  }

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
      result = await this.reservations.reserve(input.data, correlationId, startBy);
      // A retry of a request whose outcome its caller never heard: its own booking is not a duplicate.
      if (isRejected(result, 'already_booked') && input.data.retry_of !== undefined) {
        const own = await this.bookings.bookingMadeBy(input.data, input.data.retry_of);
        if (own) result = { booking: own };
      }
    } catch (error) {
      this.metrics.reservations.inc({ outcome: ReservationOutcome.error });
      throw error;
    }
    if ('booking' in result) {
      this.metrics.reservations.inc({ outcome: ReservationOutcome.created });
      return ok(result.booking);
    }
    this.metrics.reservations.inc({ outcome: OUTCOME_BY_REJECTION[result.rejection] });
    return fail(rejectionError(result.rejection, input.data));
  }

  @MessagePattern(BookingSubjects.cancel)
  async cancel(@Payload() payload: unknown, @Ctx() context: NatsContext): Promise<ServiceReply<CancelledBookingView>> {
    const input = validate(cancelCommandSchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    const { id, retry_of: retryOf } = input.data;
    const cancelled =
      (await this.bookings.cancel(id, correlationIdOf(context), commandStartBy(context, this.config))) ??
      (retryOf === undefined ? undefined : await this.bookings.cancellationBy(id, retryOf));
    return cancelled
      ? ok(cancelled)
      : fail({ code: ErrorCode.BookingNotFound, message: ErrorMessages.bookingNotFound(id) });
  }
}

const isRejected = (result: ReserveResult, rejection: Rejection): boolean =>
  'rejection' in result && result.rejection === rejection;

const OUTCOME_BY_REJECTION: Record<Rejection, ReservationOutcome> = {
  already_booked: ReservationOutcome.duplicate,
  sold_out: ReservationOutcome.soldOut,
  event_not_found: ReservationOutcome.notFound,
};

/** Read-only queries over bookings. */
@Controller()
export class BookingQueriesController {
  constructor(private readonly bookings: BookingRepository) {}

  @MessagePattern(BookingSubjects.getBooking)
  async get(@Payload() payload: unknown): Promise<ServiceReply<BookingView>> {
    const input = validate(getByIdSchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    const booking = await this.bookings.findById(input.data.id);
    return booking
      ? ok(booking)
      : fail({ code: ErrorCode.BookingNotFound, message: ErrorMessages.bookingNotFound(input.data.id) });
  }

  @MessagePattern(BookingSubjects.bookingHistory)
  async history(@Payload() payload: unknown): Promise<ServiceReply<BookingHistoryView>> {
    const input = validate(getByIdSchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    const history = await this.bookings.history(input.data.id);
    return history
      ? ok(history)
      : fail({ code: ErrorCode.BookingNotFound, message: ErrorMessages.bookingNotFound(input.data.id) });
  }

  @MessagePattern(BookingSubjects.listBookings)
  async list(@Payload() payload: unknown): Promise<ServiceReply<BookingView[]>> {
    const input = validate(listBookingsSchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    return ok(await this.bookings.list(input.data));
  }
}
