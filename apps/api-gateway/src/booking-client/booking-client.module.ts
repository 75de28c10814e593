import { Module } from '@nestjs/common';
import { ClientNats } from '@nestjs/microservices';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { BOOKING_NATS_CLIENT, BookingClient } from './booking-client.js';

@Module({
  providers: [
    {
      provide: BOOKING_NATS_CLIENT,
      inject: [GATEWAY_CONFIG],
      useFactory: (config: GatewayConfig) =>
        new ClientNats({
          servers: config.NATS_URL,
          name: 'api-gateway (booking-service client)',
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          // Otherwise every request pre-builds two Error objects (stack traces) in case it fails.
          noAsyncTraces: true,
        }),
    },
    BookingClient,
  ],
  exports: [BookingClient],
})
export class BookingClientModule {}
