import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { WaitingRoomModule } from '../waiting-room/waiting-room.module.js';
import { EventBookingsController } from './event-bookings.controller.js';
import { EventCatalogueModule } from './event-catalogue.module.js';
import { EventsController } from './events.controller.js';

@Module({
  imports: [BookingClientModule, EventCatalogueModule, IdempotencyModule, WaitingRoomModule],
  controllers: [EventsController, EventBookingsController],
})
export class EventsModule {}
