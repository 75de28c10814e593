import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { EventsController } from './events.controller.js';

@Module({ imports: [BookingClientModule], controllers: [EventsController] })
export class EventsModule {}
