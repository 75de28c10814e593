import { Module } from '@nestjs/common';
import { BookingClientModule } from '../booking-client/booking-client.module.js';
import { LiveModule } from '../live/live.module.js';
import { EventCatalogue } from './event-catalogue.js';

/** The events as this gateway last read them, for the event pages and the waiting rooms' seat counts. */
@Module({ imports: [BookingClientModule, LiveModule], providers: [EventCatalogue], exports: [EventCatalogue] })
export class EventCatalogueModule {}
