import { Logger, Module } from '@nestjs/common';
import { BookingCommandsController, BookingQueriesController } from './booking.controller.js';
import { BookingQueries } from './booking-queries.js';
import { BookingRepository } from './booking.repository.js';
import { ReservationBatcher } from './reservation-batcher.js';
import { Reservations } from './reservations.js';

@Module({
  controllers: [BookingCommandsController, BookingQueriesController],
  providers: [
    BookingRepository,
    BookingQueries,
    {
      provide: Reservations,
      inject: [BookingRepository],
      useFactory: (repository: BookingRepository) => new Reservations(repository, new Logger(Reservations.name)),
    },
    ReservationBatcher,
  ],
})
export class BookingModule {}
