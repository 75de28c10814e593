import {
  createEventSchema,
  idParamsSchema,
  type CreateEventCommand,
  type EventView,
  type GetByIdQuery,
} from '@booking/shared';
import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AdminOnly, PublicRoute } from '../auth/auth.decorators.js';
import { BookingClient } from '../booking-client/booking-client.js';
import { ConditionalGet } from '../common/conditional-get.js';
import { RequestId } from '../common/request-id.js';
import { ApiErrors, eventViewSchema } from '../docs/api-schemas.js';
import { Idempotent } from '../idempotency/idempotent-requests.js';
import { EventCatalogue } from './event-catalogue.js';

@ApiTags('events')
@Controller('api/events')
export class EventsController {
  constructor(
    private readonly bookings: BookingClient,
    private readonly catalogue: EventCatalogue,
  ) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @AdminOnly()
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Create an event (admin token required)' })
  @Idempotent()
  @ApiResponse({ status: 201, description: 'Created', standardSchema: eventViewSchema })
  @ApiErrors(400, 401, 403, 413, 415, 422, 504)
  create(
    @Body({ schema: createEventSchema }) command: CreateEventCommand,
    @RequestId() requestId: string,
  ): Promise<EventView> {
    return this.bookings.createEvent(command, requestId);
  }

  @Get()
  @PublicRoute()
  @ConditionalGet()
  @ApiOperation({ summary: 'All events with seats left' })
  @ApiResponse({ status: 200, standardSchema: eventViewSchema.array() })
  @ApiErrors(504)
  list(@RequestId() requestId: string): Promise<EventView[]> {
    return this.bookings.listEvents(requestId);
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
}
