import {
  BookingSubjects,
  idParamsSchema,
  listBookingsQueryStringSchema,
  reserveBookingSchema,
  type BookingHistoryView,
  type BookingView,
  type CancelledBookingView,
  type ListBookingsQuery,
  type ReserveBookingCommand,
} from '@booking/shared';
import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { BookingClient } from '../booking-client/booking-client.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';

@Controller('api/bookings')
export class BookingsController {
  constructor(private readonly bookingService: BookingClient) {}

  @Post('reserve')
  @HttpCode(HttpStatus.CREATED)
  reserve(@Body(new ZodValidationPipe(reserveBookingSchema)) command: ReserveBookingCommand): Promise<BookingView> {
    return this.bookingService.request(BookingSubjects.reserve, command);
  }

  @Get(':id')
  get(@Param(new ZodValidationPipe(idParamsSchema)) params: { id: number }): Promise<BookingView> {
    return this.bookingService.request(BookingSubjects.getBooking, params);
  }

  /** Cancels the booking and frees its seat. */
  @Delete(':id')
  cancel(@Param(new ZodValidationPipe(idParamsSchema)) params: { id: number }): Promise<CancelledBookingView> {
    return this.bookingService.request(BookingSubjects.cancel, params);
  }

  /** The booking's audit trail, from its stored events. */
  @Get(':id/history')
  history(@Param(new ZodValidationPipe(idParamsSchema)) params: { id: number }): Promise<BookingHistoryView> {
    return this.bookingService.request(BookingSubjects.bookingHistory, params);
  }

  @Get()
  list(@Query(new ZodValidationPipe(listBookingsQueryStringSchema)) query: ListBookingsQuery): Promise<BookingView[]> {
    return this.bookingService.request(BookingSubjects.listBookings, query);
  }
}
