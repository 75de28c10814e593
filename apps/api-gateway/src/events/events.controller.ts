import {
  BookingSubjects,
  createEventSchema,
  idParamsSchema,
  type CreateEventCommand,
  type EventView,
} from '@booking/shared';
import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, UseGuards } from '@nestjs/common';
import { BookingClient } from '../booking-client/booking-client.js';
import { ZodValidationPipe } from '../common/zod-validation.pipe.js';
import { AdminTokenGuard } from './admin-token.guard.js';

@Controller('api/events')
export class EventsController {
  constructor(private readonly bookingService: BookingClient) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @UseGuards(AdminTokenGuard)
  create(@Body(new ZodValidationPipe(createEventSchema)) command: CreateEventCommand): Promise<EventView> {
    return this.bookingService.request(BookingSubjects.createEvent, command);
  }

  @Get()
  list(): Promise<EventView[]> {
    return this.bookingService.request(BookingSubjects.listEvents, {});
  }

  @Get(':id')
  get(@Param(new ZodValidationPipe(idParamsSchema)) params: { id: number }): Promise<EventView> {
    return this.bookingService.request(BookingSubjects.getEvent, params);
  }
}
