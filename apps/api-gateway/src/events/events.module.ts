import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { EventsController } from './events.controller.js';

@Module({
  imports: [BookingClientModule, IdempotencyModule],
  controllers: [EventsController],
})
export class EventsModule {}
