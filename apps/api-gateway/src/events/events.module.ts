import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { EventLookupRoute } from './event-lookup.route.js';
import { EventsController } from './events.controller.js';

@Module({
  imports: [BookingClientModule, IdempotencyModule, RateLimitModule],
  controllers: [EventsController],
  providers: [EventLookupRoute],
})
export class EventsModule {}
