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
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { assertMayActAs, assertMayRead, CurrentPrincipal, isAdmin, type Principal } from '../auth/principal.js';
import { BookingClient } from '../booking-client/booking-client.js';
import { RequestId } from '../common/request-id.js';
import {
  ApiErrors,
  bookingHistoryViewSchema,
  bookingViewSchema,
  cancelledBookingViewSchema,
} from '../docs/api-schemas.js';
import { Idempotent, ResumedRequest } from '../idempotency/idempotency.guard.js';

@ApiTags('bookings')
@ApiBearerAuth()
@Controller('api/bookings')
export class BookingsController {
  constructor(private readonly bookingService: BookingClient) {}

  @Post('reserve')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Book one seat of an event for a user (a user token may only book as its own sub)' })
  @Idempotent()
  @ApiResponse({ status: 201, description: 'Booked', standardSchema: bookingViewSchema })
  @ApiErrors(400, 401, 403, 404, 409, 413, 415, 422, 504)
  reserve(
    @Body({ schema: reserveBookingSchema }) command: ReserveBookingCommand,
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
    @ResumedRequest() resumes: string | undefined,
  ): Promise<BookingView> {
    assertMayActAs(principal, command.user_id);
    return this.bookingService.reserve({ ...command, retry_of: resumes }, resumes ?? requestId);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One booking (a user token may read only its own bookings; admin any)' })
  @ApiResponse({ status: 200, standardSchema: bookingViewSchema })
  @ApiErrors(400, 401, 403, 404, 504)
  async get(
    @Param({ schema: idParamsSchema }) params: { id: number },
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
  ): Promise<BookingView> {
    const booking = await this.bookingService.query<BookingView>(BookingSubjects.getBooking, params, requestId);
    assertMayRead(principal, booking.user_id);
    return booking;
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Cancel a booking and free its seat (a user token may cancel only its own bookings)' })
  @Idempotent()
  @ApiResponse({ status: 200, description: 'Cancelled', standardSchema: cancelledBookingViewSchema })
  @ApiErrors(400, 401, 403, 404, 422, 504)
  async cancel(
    @Param({ schema: idParamsSchema }) params: { id: number },
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
    @ResumedRequest() resumes: string | undefined,
  ): Promise<CancelledBookingView> {
    if (principal) {
      // Whose booking it is decides; the row's owner never changes, so checking first is safe.
      const booking = await this.bookingService.query<BookingView>(BookingSubjects.getBooking, params, requestId);
      assertMayActAs(principal, booking.user_id);
    }
    return this.bookingService.request(BookingSubjects.cancel, { ...params, retry_of: resumes }, resumes ?? requestId);
  }

  @Get(':id/history')
  @ApiOperation({ summary: "A booking's audit trail from its stored events (own bookings only; admin any)" })
  @ApiResponse({ status: 200, standardSchema: bookingHistoryViewSchema })
  @ApiErrors(400, 401, 403, 404, 504)
  async history(
    @Param({ schema: idParamsSchema }) params: { id: number },
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
  ): Promise<BookingHistoryView> {
    const history = await this.bookingService.query<BookingHistoryView>(
      BookingSubjects.bookingHistory,
      params,
      requestId,
    );
    const owner = history.events[0]?.data.user_id;
    if (owner !== undefined) assertMayRead(principal, owner);
    return history;
  }

  @Get()
  @ApiOperation({ summary: 'Bookings by user and/or event (a user token lists its own bookings)' })
  @ApiResponse({ status: 200, standardSchema: bookingViewSchema.array() })
  @ApiErrors(400, 401, 403, 504)
  list(
    @Query({ schema: listBookingsQueryStringSchema }) query: ListBookingsQuery,
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
  ): Promise<BookingView[]> {
    if (principal && !isAdmin(principal)) {
      query = { ...query, user_id: query.user_id ?? principal.sub };
      assertMayRead(principal, query.user_id!);
    }
    return this.bookingService.query(BookingSubjects.listBookings, query, requestId);
  }
}
