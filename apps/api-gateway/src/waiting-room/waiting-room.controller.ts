import {
  admissionRequestSchema,
  idParamsSchema,
  joinQueueSchema,
  queueStreamQuerySchema,
  waitingRoomSettingsSchema,
  WaitingRoomMessages,
  type AdmissionRequest,
  type GetByIdQuery,
  type JoinQueueCommand,
  type QueueStatusView,
  type QueueTicketView,
  type WaitingRoomSettings,
  type WaitingRoomView,
} from '@booking/shared';
import {
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Query,
  Sse,
  type MessageEvent,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Observable } from 'rxjs';
import { AdminOnly, PublicRoute } from '../auth/auth.decorators.js';
import { assertMayActAs, CurrentPrincipal, type Principal } from '../auth/principal.js';
import { RequestId } from '../common/request-id.js';
import { ApiErrors } from '../docs/api-schemas.js';
import { Idempotent } from '../idempotency/idempotent-requests.js';
import { queueStatusViewSchema, queueTicketViewSchema, waitingRoomViewSchema } from './waiting-room.schemas.js';
import { QueueStreams } from './queue-streams.js';
import { QueueTokens } from './queue-tokens.js';
import { WaitingRoom } from './waiting-room.js';

/** An event's waiting room: the organiser's switch, and the queue clients join and follow. */
@ApiTags('waiting room')
@Controller('api/events')
export class WaitingRoomController {
  constructor(
    private readonly room: WaitingRoom,
    private readonly tokens: QueueTokens,
    private readonly streams: QueueStreams,
  ) {}

  @Put(':id/waiting-room')
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      'Switch on the waiting room of an event, or change its pace (admin token required). Joining opens ' +
      'join_opens_before_s (default 900) before the sales open (at once without a sales window); from the ' +
      'opening, admissions_per_second places are admitted each second. Reservations for the event then need an ' +
      'Admission-Token. A change of pace keeps every place and admission.',
  })
  @ApiResponse({ status: 200, standardSchema: waitingRoomViewSchema })
  @ApiErrors(400, 401, 403, 404, 413, 415, 504)
  configure(
    @Param({ schema: idParamsSchema }) params: GetByIdQuery,
    @Body({ schema: waitingRoomSettingsSchema }) settings: WaitingRoomSettings,
    @RequestId() requestId: string,
  ): Promise<WaitingRoomView> {
    return this.room.configure(params.id, settings, requestId);
  }

  @Get(':id/waiting-room')
  @PublicRoute()
  @ApiOperation({ summary: "An event's waiting room: its pace, state and how many wait (404: the event has none)" })
  @ApiResponse({ status: 200, standardSchema: waitingRoomViewSchema })
  @ApiErrors(400, 404)
  view(@Param({ schema: idParamsSchema }) params: GetByIdQuery): Promise<WaitingRoomView> {
    return this.room.view(params.id);
  }

  @Delete(':id/waiting-room')
  @HttpCode(HttpStatus.NO_CONTENT)
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      'Switch off the waiting room of an event (admin token required): its queue is dropped and reservations ' +
      'no longer need an Admission-Token',
  })
  @Idempotent()
  @ApiResponse({ status: 204, description: 'Switched off' })
  @ApiErrors(400, 401, 403, 404)
  async remove(@Param({ schema: idParamsSchema }) params: GetByIdQuery): Promise<void> {
    await this.room.remove(params.id);
  }

  @Post(':id/queue')
  @HttpCode(HttpStatus.OK)
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      "Join an event's queue as a user (a user token may join only as its own sub); joining again gives the same " +
      'place. Before the sales open, places among the early arrivals are drawn at random (state `early`: the ' +
      'position may still change until the opening); from the opening on, in arrival order. The `ticket` names ' +
      'the place: follow it with the stream or ask for the admission with it.',
  })
  @Idempotent()
  @ApiResponse({ status: 200, standardSchema: queueTicketViewSchema })
  @ApiErrors(400, 401, 403, 404, 409, 413, 415)
  join(
    @Param({ schema: idParamsSchema }) params: GetByIdQuery,
    @Body({ schema: joinQueueSchema }) command: JoinQueueCommand,
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
  ): Promise<QueueTicketView> {
    assertMayActAs(principal, command.user_id);
    return this.room.join(params.id, command.user_id, requestId);
  }

  @Post(':id/queue/admission')
  @HttpCode(HttpStatus.OK)
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      "Where a ticket's place stands; once its turn has come, with the single-use admission_token to send as the " +
      'Admission-Token header of POST /api/bookings/reserve before admission_expires_at (the same token every time)',
  })
  @Idempotent()
  @ApiResponse({ status: 200, standardSchema: queueStatusViewSchema })
  @ApiErrors(400, 401, 403, 404, 413, 415)
  async admission(
    @Param({ schema: idParamsSchema }) params: GetByIdQuery,
    @Body({ schema: admissionRequestSchema }) request: AdmissionRequest,
    @CurrentPrincipal() principal: Principal | undefined,
    @RequestId() requestId: string,
  ): Promise<QueueStatusView> {
    const userId = await this.ticketHolder(request.ticket, params.id);
    assertMayActAs(principal, userId);
    return this.room.status(params.id, userId, requestId);
  }

  @Sse(':id/queue/stream')
  // The ticket is the credential (EventSource cannot send an Authorization header).
  @PublicRoute()
  @ApiOperation({
    summary: "A ticket's place, live (server-sent events)",
    description:
      'A stream of `event: queue` messages, each a QueueStatus (position, people ahead, estimated wait), sent ' +
      'every WAITING_ROOM_TICK_MS; it ends after the message that admits the client (with its admission_token) ' +
      'or says the queue closed (sold out) or the room was switched off.',
  })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: 'The stream' })
  @ApiErrors(400, 403, 404)
  async stream(
    @Param({ schema: idParamsSchema }) params: GetByIdQuery,
    @Query({ schema: queueStreamQuerySchema }) query: { ticket: string },
    @RequestId() requestId: string,
  ): Promise<Observable<MessageEvent>> {
    const userId = await this.ticketHolder(query.ticket, params.id);
    return this.streams.open(params.id, userId, requestId);
  }

  private async ticketHolder(ticket: string, eventId: number): Promise<string> {
    const place = await this.tokens.readTicket(ticket, eventId);
    if (typeof place === 'string') throw new ForbiddenException(WaitingRoomMessages.ticketInvalid(place));
    return place.userId;
  }
}
