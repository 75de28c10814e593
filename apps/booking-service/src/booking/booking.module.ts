import { Module } from '@nestjs/common';
import { BookingCommandsController, BookingQueriesController } from './booking.controller.js';
import { BookingRepository } from './booking.repository.js';

@Module({
  controllers: [BookingCommandsController, BookingQueriesController],
  providers: [BookingRepository],
})
export class BookingModule {}
