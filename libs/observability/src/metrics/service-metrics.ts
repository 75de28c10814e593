import type { Registry } from 'prom-client';
import { Metrics } from './definitions.js';
import { counter, gauge, histogram } from './registry.js';

/** Metrics of the api-gateway beyond HTTP: the NATS round trip, reservations per message, rate limiting, the circuit breaker, Redis. */
export const createGatewayMetrics = (registry: Registry) => ({
  natsRequestDuration: histogram(Metrics.natsRequestDuration, registry),
  reservationsPerMessage: histogram(Metrics.reservationsPerMessage, registry),
  rateLimitRejections: counter(Metrics.rateLimitRejections, registry),
  circuitBreakerState: gauge(Metrics.circuitBreakerState, registry),
  redisAvailable: gauge(Metrics.redisAvailable, registry),
});
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/** Metrics of the booking service's request handlers. */
export const createBookingMetrics = (registry: Registry) => ({
  reservations: counter(Metrics.bookingReservations, registry),
  natsHandlerDuration: histogram(Metrics.natsHandlerDuration, registry),
});
export type BookingMetrics = ReturnType<typeof createBookingMetrics>;

export interface OutboxBacklog {
  pending: number;
  oldestAgeSeconds: number;
}

/**
 * Sets the gauge from `read` at scrape time. When the source is down the gauge
 * keeps its last value: the scrape (and every other metric) must not fail with
 * it, and the readiness probe already reports the outage.
 */
function readAtScrape<T>(read: () => Promise<T>, pick: (value: T) => number) {
  return async function (this: { set(value: number): void }) {
    try {
      this.set(pick(await read()));
    } catch {
      // keep the last value
    }
  };
}

/** For the outbox relay: `readBacklog` runs at scrape time (a cheap query on the pending rows' index). */
export function createOutboxMetrics(registry: Registry, readBacklog: () => Promise<OutboxBacklog>) {
  gauge(
    Metrics.outboxPendingEvents,
    registry,
    readAtScrape(readBacklog, (backlog) => backlog.pending),
  );
  gauge(
    Metrics.outboxOldestPendingAge,
    registry,
    readAtScrape(readBacklog, (backlog) => backlog.oldestAgeSeconds),
  );
  return { published: counter(Metrics.outboxPublished, registry) };
}

export interface ConsumerInfo {
  pending: number;
  ackPending: number;
}

/** For the notification service's consumer: `readConsumer` (JetStream consumer info) runs at scrape time. */
export function createConsumerLagMetrics(registry: Registry, readConsumer: () => Promise<ConsumerInfo>): void {
  gauge(
    Metrics.consumerPendingMessages,
    registry,
    readAtScrape(readConsumer, (info) => info.pending),
  );
  gauge(
    Metrics.consumerAckPendingMessages,
    registry,
    readAtScrape(readConsumer, (info) => info.ackPending),
  );
}

/** For the notification service's dispatcher. */
export const createDeliveryMetrics = (registry: Registry) => ({
  deliveries: counter(Metrics.notificationDeliveries, registry),
  deliveryDuration: histogram(Metrics.notificationDeliveryDuration, registry),
});
export type DeliveryMetrics = ReturnType<typeof createDeliveryMetrics>;
