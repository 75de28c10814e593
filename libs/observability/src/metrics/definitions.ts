/**
 * Every metric the services export, defined once: the services register them
 * from here, and the dashboards, alert rules and their tests are checked
 * against this list. Labels are bounded sets (route templates, subjects,
 * outcomes) — never user, event or booking ids.
 */
export const SERVICES = ['api-gateway', 'booking-service', 'notification-service'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface MetricDefinition {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  labelNames: readonly string[];
  buckets?: number[];
  exportedBy: readonly ServiceName[];
  /**
   * Set while the feature that records the metric is not part of the code
   * base yet: the service does not register it, and the dashboard test
   * accepts its absence from /metrics.
   */
  pendingFeature?: string;
}

/**
 * Seconds; tuned for requests that should take milliseconds and must finish within the 5 s NATS deadline,
 * with bounds around the booking path's p95 and p99 targets (50 and 100 ms) so that a quantile near them
 * is told apart.
 */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];
const DB_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

const define = <const T extends MetricDefinition>(definition: T): T => definition;

export const Metrics = {
  httpRequestDuration: define({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code (count = rate, status_code 5xx = errors).',
    type: 'histogram',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
    exportedBy: SERVICES,
  }),

  // api-gateway
  natsRequestDuration: define({
    name: 'nats_request_duration_seconds',
    help: 'Gateway requests to the booking service over NATS, by subject and outcome (ok, rejected, timeout, unavailable).',
    type: 'histogram',
    labelNames: ['subject', 'outcome'],
    buckets: LATENCY_BUCKETS,
    exportedBy: ['api-gateway'],
  }),
  rateLimitRejections: define({
    name: 'rate_limit_rejections_total',
    help: 'Requests refused with 429 by the rate limiter, by limit (ip, user).',
    type: 'counter',
    labelNames: ['limit'],
    exportedBy: ['api-gateway'],
  }),
  reservationsPerMessage: define({
    name: 'booking_reservations_per_message',
    help: 'Reservations the gateway sent to the booking service together in one NATS message (1: alone).',
    type: 'histogram',
    labelNames: [],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    exportedBy: ['api-gateway'],
  }),
  circuitBreakerState: define({
    name: 'circuit_breaker_state',
    help: 'State of a circuit breaker: 0 closed, 1 half-open, 2 open.',
    type: 'gauge',
    labelNames: ['breaker'],
    exportedBy: ['api-gateway'],
  }),
  redisAvailable: define({
    name: 'redis_available',
    help: "1 while the gateway's Redis answers; 0 while it is marked down (rate limits per replica, Idempotency-Key requests 503).",
    type: 'gauge',
    labelNames: [],
    exportedBy: ['api-gateway'],
  }),

  // booking-service
  bookingReservations: define({
    name: 'booking_reservations_total',
    help: 'Reservation commands by outcome: created, duplicate, sold_out, sales_not_open, sales_closed, not_found, invalid, error.',
    type: 'counter',
    labelNames: ['outcome'],
    exportedBy: ['booking-service'],
  }),
  natsHandlerDuration: define({
    name: 'nats_handler_duration_seconds',
    help: 'Time the booking service spends on a NATS request, by subject and outcome (ok, rejected, error).',
    type: 'histogram',
    labelNames: ['subject', 'outcome'],
    buckets: LATENCY_BUCKETS,
    exportedBy: ['booking-service'],
  }),
  dbQueryDuration: define({
    name: 'db_query_duration_seconds',
    help: 'PostgreSQL statements by operation (select, insert, update, delete, with, other) and outcome (ok, error).',
    type: 'histogram',
    labelNames: ['operation', 'outcome'],
    buckets: DB_BUCKETS,
    exportedBy: ['booking-service', 'notification-service'],
  }),
  dbPoolConnections: define({
    name: 'db_pool_connections',
    help: 'PostgreSQL pool clients by state: total (open), idle, waiting (callers queued for a client).',
    type: 'gauge',
    labelNames: ['state'],
    exportedBy: ['booking-service', 'notification-service'],
  }),
  dbPoolMaxConnections: define({
    name: 'db_pool_max_connections',
    help: 'Configured size of the PostgreSQL pool.',
    type: 'gauge',
    labelNames: [],
    exportedBy: ['booking-service', 'notification-service'],
  }),
  outboxPendingEvents: define({
    name: 'outbox_pending_events',
    help: 'Outbox rows written but not yet published to JetStream.',
    type: 'gauge',
    labelNames: [],
    exportedBy: ['booking-service'],
  }),
  outboxOldestPendingAge: define({
    name: 'outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest unpublished outbox row (0 when the outbox is empty).',
    type: 'gauge',
    labelNames: [],
    exportedBy: ['booking-service'],
  }),
  outboxPublished: define({
    name: 'outbox_published_total',
    help: 'Outbox rows the relay tried to publish, by outcome (ok, error).',
    type: 'counter',
    labelNames: ['outcome'],
    exportedBy: ['booking-service'],
  }),

  // notification-service
  consumerPendingMessages: define({
    name: 'notification_consumer_pending_messages',
    help: 'Consumer lag: stream messages not yet delivered to the durable consumer.',
    type: 'gauge',
    labelNames: [],
    exportedBy: ['notification-service'],
  }),
  consumerAckPendingMessages: define({
    name: 'notification_consumer_ack_pending_messages',
    help: 'Messages delivered to the consumer and not acknowledged yet.',
    type: 'gauge',
    labelNames: [],
    exportedBy: ['notification-service'],
  }),
  notificationDeliveries: define({
    name: 'notification_deliveries_total',
    help: 'Notification deliveries by channel (webhook, log) and result: delivered, retried (a failed attempt), dead_letter; duplicate (channel "all") for a redelivered event with nothing left to do.',
    type: 'counter',
    labelNames: ['channel', 'result'],
    exportedBy: ['notification-service'],
  }),
  notificationDeliveryDuration: define({
    name: 'notification_delivery_duration_seconds',
    help: 'Time to deliver one notification, by channel.',
    type: 'histogram',
    labelNames: ['channel'],
    buckets: LATENCY_BUCKETS,
    exportedBy: ['notification-service'],
  }),
} as const;

export const METRIC_DEFINITIONS: readonly MetricDefinition[] = Object.values(Metrics);

/** Outcome label values, so call sites cannot invent new ones. */
export const ReservationOutcome = {
  created: 'created',
  duplicate: 'duplicate',
  soldOut: 'sold_out',
  salesNotOpen: 'sales_not_open',
  salesClosed: 'sales_closed',
  notFound: 'not_found',
  invalid: 'invalid',
  error: 'error',
} as const;
export type ReservationOutcome = (typeof ReservationOutcome)[keyof typeof ReservationOutcome];

export const CircuitState = { closed: 0, halfOpen: 1, open: 2 } as const;
