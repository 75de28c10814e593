import {
  ADMISSION_TOKEN_HEADER,
  idParamsSchema,
  listBookingsQueryStringSchema,
  reserveBookingSchema,
  type BookingHistoryView,
  type BookingView,
  type CancelledBookingView,
  type ListBookingsQuery,
  type ReserveBookingCommand,
} from '@booking/shared';
import { Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  AcceptsBookingAccessKey,
  BookingAccess,
  CurrentBookingCaller,
  IssuesBookingAccessKey,
  ownershipOfHistory,
  type BookingCaller,
} from '../auth/booking-access.js';
import { assertMayActAs, CurrentPrincipal, type Principal } from '../auth/principal.js';
import { BookingClient } from '../booking-client/booking-client.js';
import { RequestId } from '../common/request-id.js';
import {
  ApiErrors,
  bookingHistoryViewSchema,
  bookingViewSchema,
  cancelledBookingViewSchema,
} from '../docs/api-schemas.js';
import { Idempotent, ResumedRequest } from '../idempotency/idempotent-requests.js';
import { AdmissionGate } from '../waiting-room/admission-gate.js';

@ApiTags('bookings')
@ApiBearerAuth()
@Controller('api/bookings')
export class BookingsController {
  constructor(
    private readonly bookings: BookingClient,
    private readonly access: BookingAccess,
    private readonly admission: AdmissionGate,
  ) {}

  @Post('reserve')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({
    summary:
      'Book one seat of an event for a user (a user token may only book as its own sub); the 201 carries the booking’s access key',
  })
  @Idempotent()
  @IssuesBookingAccessKey()
  @ApiHeader({
    name: 'Admission-Token',
    required: false,
    description:
      'For an event with a waiting room: the admission_token its queue gave (403 without one, 409 once used)',
  })
  @ApiErrors(400, 401, 403, 404, 409, 413, 415, 422, 504)
  reserve(
    @Body({ schema: reserveBookingSchema }) command: ReserveBookingCommand,
    @Headers(ADMISSION_TOKEN_HEADER) admissionToken: string | undefined,
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
    @ResumedRequest() resumes: string | undefined,
  ): Promise<BookingView> {
    assertMayActAs(principal, command.user_id);
    return this.admission.reserve(command, admissionToken, requestId, () =>
      this.bookings.reserve({ ...command, retry_of: resumes }, resumes ?? requestId),
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'One booking, for its owner (token or access key) or an admin' })
  @AcceptsBookingAccessKey()
  @ApiResponse({ status: 200, standardSchema: bookingViewSchema })
  @ApiErrors(400, 401, 403, 404, 504)
  async get(
    @Param({ schema: idParamsSchema }) params: { id: number },
    @CurrentBookingCaller() caller: BookingCaller,
    @RequestId() requestId: string,
  ): Promise<BookingView> {
    this.access.requireCredential(caller);
    const booking = await this.bookings.getBooking(params, requestId);
    this.access.authorize(caller, booking, 'read');
    return booking;
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Cancel a booking and free its seat, for its owner (token or access key) or an admin' })
  @Idempotent()
  @AcceptsBookingAccessKey()
  @ApiResponse({ status: 200, description: 'Cancelled', standardSchema: cancelledBookingViewSchema })
  @ApiErrors(400, 401, 403, 404, 422, 504)
  async cancel(
    @Param({ schema: idParamsSchema }) params: { id: number },
    @CurrentBookingCaller() caller: BookingCaller,
    @RequestId() requestId: string,
    @ResumedRequest() resumes: string | undefined,
  ): Promise<CancelledBookingView> {
    this.access.requireCredential(caller);
    // Whose booking it is decides; the row's owner never changes, so checking first is safe. A request resuming
    // one whose outcome is unknown (same caller, same key) was checked by that one, which may have deleted the row.
    if (resumes === undefined) {
      const booking = await this.bookings.getBooking(params, requestId);
      this.access.authorize(caller, booking, 'cancel');
    }
    return this.bookings.cancel({ ...params, retry_of: resumes }, resumes ?? requestId);
  }

  @Get(':id/history')
  @ApiOperation({
    summary: "A booking's audit trail from its stored events, for its owner (token or access key) or an admin",
  })
  @AcceptsBookingAccessKey()
  @ApiResponse({ status: 200, standardSchema: bookingHistoryViewSchema })
  @ApiErrors(400, 401, 403, 404, 504)
  async history(
    @Param({ schema: idParamsSchema }) params: { id: number },
    @CurrentBookingCaller() caller: BookingCaller,
    @RequestId() requestId: string,
  ): Promise<BookingHistoryView> {
    this.access.requireCredential(caller);
    const history = await this.bookings.bookingHistory(params, requestId);
    this.access.authorize(caller, ownershipOfHistory(history), 'read');
    return history;
  }

  @Get()
  @ApiOperation({ summary: 'Bookings by user and/or event: a user token lists its own, an admin token anyone’s' })
  @ApiResponse({ status: 200, standardSchema: bookingViewSchema.array() })
  @ApiErrors(400, 401, 403, 504)
  list(
    @Query({ schema: listBookingsQueryStringSchema }) query: ListBookingsQuery,
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
  ): Promise<BookingView[]> {
    return this.bookings.listBookings(this.access.listQuery(principal, query), requestId);
  }
}
