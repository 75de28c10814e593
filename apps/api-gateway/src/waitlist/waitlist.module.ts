import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { WaitlistController } from './waitlist.controller.js';

@Module({
  imports: [BookingClientModule, IdempotencyModule],
  controllers: [WaitlistController],
})
export class WaitlistModule {}
