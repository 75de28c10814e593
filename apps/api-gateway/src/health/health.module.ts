import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { HealthController } from './health.controller.js';

@Module({ imports: [BookingClientModule], controllers: [HealthController] })
export class HealthModule {}
