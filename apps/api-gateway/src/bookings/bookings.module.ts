import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { BookingsController } from './bookings.controller.js';

@Module({ imports: [BookingClientModule], controllers: [BookingsController] })
export class BookingsModule {}
