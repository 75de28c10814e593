import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { AdminTokenGuard } from './admin-token.guard.js';
import { EventsController } from './events.controller.js';

@Module({ imports: [BookingClientModule], controllers: [EventsController], providers: [AdminTokenGuard] })
export class EventsModule {}
