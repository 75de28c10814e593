import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { LiveController } from './live.controller.js';
import { SeatFeed } from './seat-feed.js';

@Module({ imports: [BookingClientModule], controllers: [LiveController], providers: [SeatFeed], exports: [SeatFeed] })
export class LiveModule {}
