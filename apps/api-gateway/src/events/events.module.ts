import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { LiveModule } from '../live/live.module.js';
import { WaitingRoomModule } from '../waiting-room/waiting-room.module.js';
import { EventBookingsController } from './event-bookings.controller.js';
import { EventCatalogue } from './event-catalogue.js';
import { EventsController } from './events.controller.js';

@Module({
  imports: [BookingClientModule, IdempotencyModule, LiveModule, WaitingRoomModule],
  controllers: [EventsController, EventBookingsController],
  providers: [EventCatalogue],
})
export class EventsModule {}
