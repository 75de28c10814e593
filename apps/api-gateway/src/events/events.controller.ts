import {
  createEventSchema,
  eventChangesSchema,
  idParamsSchema,
  listEventsQueryStringSchema,
  type CreateEventCommand,
  type EventChanges,
  type EventView,
  type GetByIdQuery,
  type ListEventsQueryString,
} from '@booking/shared';
import { Body, Controller, Get, HttpCode, HttpStatus, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdminOnly, PublicRoute } from '../auth/auth.decorators.js';
import { CurrentPrincipal, type Principal } from '../auth/principal.js';
import { BookingClient } from '../booking-client/booking-client.js';
import { ConditionalGet } from '../common/conditional-get.js';
import { PAGE_HEADERS, pageOf, rowsToAsk } from '../common/paging.js';
import { RequestId } from '../common/request-id.js';
import { ApiErrors, eventViewSchema } from '../docs/api-schemas.js';
import { Idempotent } from '../idempotency/idempotent-requests.js';
import { WaitingRoom } from '../waiting-room/waiting-room.js';
import { EventCatalogue } from './event-catalogue.js';

@ApiTags('events')
@Controller('api/events')
export class EventsController {
  constructor(
    private readonly bookings: BookingClient,
    private readonly catalogue: EventCatalogue,
    private readonly waitingRoom: WaitingRoom,
  ) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Create an event, with its details and sales window if given (admin token required)' })
  @Idempotent()
  @ApiResponse({ status: 201, description: 'Created', standardSchema: eventViewSchema })
  @ApiErrors(400, 401, 403, 413, 415, 422, 504)
  create(
    @Body({ schema: createEventSchema }) command: CreateEventCommand,
    @RequestId() requestId: string,
  ): Promise<EventView> {
    return this.bookings.createEvent(command, requestId);
  }

  /**
   * Without parameters, the seed's list: every event up to MAX_LIST_SIZE, from the catalogue. With any,
   * a page (same array), the next one named by `Next-Cursor` and `Link` when there is one.
   */
  @Get()
  @PublicRoute()
  @ConditionalGet()
  @ApiOperation({
    summary:
      'Events with seats left, by id. Without parameters: all of them (up to 1000), as ever. With limit, cursor or a ' +
      'filter: a page of `limit` (default 100); when more follow, the Next-Cursor header holds the `cursor` of the ' +
      'next page and Link its URL (rel="next"). Filters combine: upcoming (not started; no start time counts as ' +
      'not started), on_sale (sales window open now and a seat left), sold_out (no seat left); false negates.',
  })
  @ApiResponse({ status: 200, standardSchema: eventViewSchema.array(), headers: PAGE_HEADERS })
  @ApiErrors(400, 504)
  async list(
    @Query({ schema: listEventsQueryStringSchema }) query: ListEventsQueryString,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @RequestId() requestId: string,
  ): Promise<EventView[]> {
    if (Object.keys(query).length === 0) return this.bookings.listEvents({}, requestId);
    const { upcoming, on_sale, sold_out, cursor } = query;
    const rows = await this.bookings.listEvents(
      { upcoming, on_sale, sold_out, after_id: cursor, limit: rowsToAsk(query) },
      requestId,
    );
    return pageOf(rows, query, request, reply);
  }

  /** The read a crowd repeats while it waits for seats. */
  @Get(':id')
  @PublicRoute()
  @ConditionalGet()
  @ApiOperation({ summary: 'One event with seats left', operationId: 'getEvent' })
  @ApiResponse({ status: 200, standardSchema: eventViewSchema })
  @ApiErrors(400, 404, 504)
  get(@Param({ schema: idParamsSchema }) params: GetByIdQuery, @RequestId() requestId: string): Promise<EventView> {
    return this.catalogue.get(params.id, requestId);
  }

  @Patch(':id')
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      "Change an event's name, details, sales window or capacity (admin token required). Fields left out keep their " +
      'value; null clears a detail. total_seats never goes below the seats booked (409). Recorded as event.updated. ' +
      'Idempotent by nature: sending the same change again changes nothing more.',
  })
  @ApiResponse({ status: 200, standardSchema: eventViewSchema })
  @ApiErrors(400, 401, 403, 404, 409, 413, 415, 504)
  async update(
    @Param({ schema: idParamsSchema }) params: GetByIdQuery,
    @Body({ schema: eventChangesSchema }) changes: EventChanges,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<EventView> {
    const event = await this.bookings.updateEvent(
      { kind: 'change', id: params.id, actor: principal.sub, changes },
      requestId,
    );
    // A waiting room follows its event's sales opening.
    if (changes.sales_open_at !== undefined) await this.waitingRoom.eventChanged(event);
    return event;
  }

  @Post(':id/close-sales')
  @HttpCode(HttpStatus.OK)
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      'Close the sales of an event now, by the database clock (admin token required): sales_close_at becomes now ' +
      'unless sales closed earlier. Recorded as event.updated. Sending it again changes nothing more.',
  })
  @Idempotent()
  @ApiResponse({ status: 200, standardSchema: eventViewSchema })
  @ApiErrors(400, 401, 403, 404, 422, 504)
  closeSales(
    @Param({ schema: idParamsSchema }) params: GetByIdQuery,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
  ): Promise<EventView> {
    return this.bookings.updateEvent({ kind: 'close_sales', id: params.id, actor: principal.sub }, requestId);
  }
}
