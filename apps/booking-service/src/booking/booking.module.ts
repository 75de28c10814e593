import { Module } from '@nestjs/common';
import { BookingCommandsController, BookingQueriesController } from './booking.controller.js';
import { BookingRepository } from './booking.repository.js';
import { ReservationBatcher } from './reservation-batcher.js';

@Module({
  controllers: [BookingCommandsController, BookingQueriesController],
  providers: [BookingRepository, ReservationBatcher],
})
export class BookingModule {}
