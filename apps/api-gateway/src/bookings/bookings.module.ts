import { Module } from '@nestjs/common';
import { BookingAccess } from '../auth/booking-access.js';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { WaitingRoomModule } from '../waiting-room/waiting-room.module.js';
import { BookingsController } from './bookings.controller.js';

@Module({
  imports: [BookingClientModule, IdempotencyModule, WaitingRoomModule],
  controllers: [BookingsController],
  providers: [BookingAccess],
})
export class BookingsModule {}
