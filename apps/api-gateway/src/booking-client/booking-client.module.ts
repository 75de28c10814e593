import { Module } from '@nestjs/common';
import { BookingClient } from './booking-client.js';
import { NatsTransport } from './nats-transport.js';

@Module({
  providers: [NatsTransport, BookingClient],
  exports: [BookingClient],
})
export class BookingClientModule {}
