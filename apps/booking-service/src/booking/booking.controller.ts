import {
  BookingSubjects,
  ErrorCode,
  ErrorMessages,
  fail,
  getByIdSchema,
  listBookingsSchema,
  ok,
  reserveBookingSchema,
  validate,
  type BookingView,
  type ServiceReply,
} from '@booking/shared';
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { BookingRepository } from './booking.repository.js';
import { ReservationBatcher } from './reservation-batcher.js';
import { rejectionError } from './reservation.js';

/** Commands that change bookings. */
@Controller()
export class BookingCommandsController {
  constructor(private readonly reservations: ReservationBatcher) {}

  @MessagePattern(BookingSubjects.reserve)
  async reserve(@Payload() payload: unknown): Promise<ServiceReply<BookingView>> {
    const input = validate(reserveBookingSchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    const result = await this.reservations.reserve(input.data);
    return 'booking' in result ? ok(result.booking) : fail(rejectionError(result.rejection, input.data));
  }
}

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

  @MessagePattern(BookingSubjects.listBookings)
  async list(@Payload() payload: unknown): Promise<ServiceReply<BookingView[]>> {
    const input = validate(listBookingsSchema, payload);
    if (!input.success) return fail({ code: ErrorCode.Validation, message: input.message });
    return ok(await this.bookings.list(input.data));
  }
}
