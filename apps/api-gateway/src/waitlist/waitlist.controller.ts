import { idParamsSchema, joinWaitlistBodySchema, waitlistParamsSchema, type WaitlistEntryView } from '@booking/shared';
import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { assertMayActAs, assertMayRead, CurrentPrincipal, type Principal } from '../auth/principal.js';
import { BookingClient } from '../booking-client/booking-client.js';
import { RequestId } from '../common/request-id.js';
import { ApiErrors, waitlistEntryViewSchema } from '../docs/api-schemas.js';
import { Idempotent } from '../idempotency/idempotent-requests.js';

/**
 * A sold-out event's waitlist. The caller names the user as on the booking
 * routes: a user token joins, sees and leaves only as its own sub (an admin
 * token may see anyone's place); without a token (AUTH_MODE=optional) the
 * `user_id` given is taken as it is, as for a reservation.
 */
@ApiTags('waitlist')
@ApiBearerAuth()
@Controller('api/events/:id/waitlist')
export class WaitlistController {
  constructor(private readonly bookings: BookingClient) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({
    summary:
      'Join the waitlist of a sold-out event (a user token only as its own sub). A seat freed later (a cancellation, ' +
      'more capacity) goes to the first in line, booked for them at once (their booking’s booking.created event says ' +
      '"source": "waitlist"). 409 when the event has seats to book, the user holds a booking or is already in line ' +
      '(the message gives the position), or sales are not open',
  })
  @Idempotent()
  @ApiResponse({ status: 201, description: 'In line', standardSchema: waitlistEntryViewSchema })
  @ApiErrors(400, 401, 403, 404, 409, 413, 415, 422, 504)
  join(
    @Param({ schema: idParamsSchema }) params: { id: number },
    @Body({ schema: joinWaitlistBodySchema }) body: { user_id: string },
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
  ): Promise<WaitlistEntryView> {
    assertMayActAs(principal, body.user_id);
    return this.bookings.joinWaitlist({ event_id: params.id, user_id: body.user_id }, requestId);
  }

  @Get(':user_id')
  @ApiOperation({
    summary:
      "A user's place on an event's waitlist (404 once they left or were given a seat): for that user or an admin",
  })
  @ApiResponse({ status: 200, standardSchema: waitlistEntryViewSchema })
  @ApiErrors(400, 401, 403, 404, 504)
  position(
    @Param({ schema: waitlistParamsSchema }) params: { id: number; user_id: string },
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
  ): Promise<WaitlistEntryView> {
    assertMayRead(principal, params.user_id);
    return this.bookings.waitlistPosition({ event_id: params.id, user_id: params.user_id }, requestId);
  }

  @Delete(':user_id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: "Leave an event's waitlist (a user token only as its own sub); 404 when not in line" })
  @Idempotent()
  @ApiResponse({ status: 204, description: 'Left the line' })
  @ApiErrors(400, 401, 403, 404, 422, 504)
  async leave(
    @Param({ schema: waitlistParamsSchema }) params: { id: number; user_id: string },
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
  ): Promise<void> {
    assertMayActAs(principal, params.user_id);
    await this.bookings.leaveWaitlist({ event_id: params.id, user_id: params.user_id }, requestId);
  }
}
