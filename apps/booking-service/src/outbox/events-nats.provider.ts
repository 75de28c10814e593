import { natsConnectionOptions } from '@booking/shared';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';

export const EVENTS_NATS = Symbol('EVENTS_NATS');

/**
 * The relay's own NATS connection (JetStream publishing), apart from Nest's
 * request/reply transport, so neither one's reconnects or drains affect the other.
 */
export const eventsNatsProvider: Provider = {
  provide: EVENTS_NATS,
  inject: [BOOKING_SERVICE_CONFIG],
  useFactory: (config: BookingServiceConfig): Promise<NatsConnection> =>
    connect({
      ...natsConnectionOptions(config, 'booking-service outbox relay'),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Otherwise every publish pre-builds Error objects (stack traces) in case it fails.
      noAsyncTraces: true,
    }),
};

@Injectable()
export class EventsNatsShutdown implements OnApplicationShutdown {
  constructor(@Inject(EVENTS_NATS) private readonly connection: NatsConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}
