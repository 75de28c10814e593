import { observabilityEnvSchema } from '@booking/observability/config';
import {
  bookingEventsStreamEnvSchema,
  checkNatsConnection,
  checkRetentionOutlastsStream,
  commonEnvSchema,
  databaseEnvSchema,
  durationMs,
  loadConfig,
  retentionEnvSchema,
} from '@booking/shared';
import { z } from 'zod';
import { COMMAND_MARGINS_MS } from './common/command-deadline.js';

export const bookingServiceEnvSchema = commonEnvSchema
  .extend(databaseEnvSchema.shape)
  .extend(observabilityEnvSchema.shape)
  .extend(bookingEventsStreamEnvSchema.shape)
  .extend(retentionEnvSchema.shape)
  .extend({
    /** A streaming standby that booking lists and histories may read (never seats left or anything a
     * reservation decides on); unset: they read DATABASE_URL. */
    DATABASE_READ_URL: z.preprocess(
      (value) => (value === '' ? undefined : value),
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, { error: 'must be a postgresql:// URL' })
        .optional(),
    ),
    /** HTTP port for health and metrics; the service's real work arrives over NATS. */
    BOOKING_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
    /** Most reservations decided in one transaction (see ReservationBatcher). */
    RESERVE_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
    /** Reservation transactions running at once per replica; keep below DATABASE_POOL_SIZE. */
    RESERVE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100).default(4),
    /** Reservations waiting for a transaction at most; the next is refused at once ("not started", 503). */
    RESERVE_MAX_QUEUE: z.coerce.number().int().min(1).max(1_000_000).default(5_000),
    /** Safety net only: the relay wakes on NOTIFY after each commit; this poll catches anything missed. */
    OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
    /** Rows one relay claims and publishes per transaction. */
    OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(200),
    /** How long a publish waits for JetStream's acknowledgement before the batch is retried later. */
    OUTBOX_PUBLISH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
    /** Outbox rows (the booking history, replay's record) older than this are deleted; "0" keeps them. */
    OUTBOX_RETENTION: durationMs.default(30 * 86_400_000),
  })
  .superRefine((config, context) => {
    checkNatsConnection(config, context);
    // Every event still on the stream has its outbox row, so `events:replay` can check the whole stream.
    checkRetentionOutlastsStream(config, config.OUTBOX_RETENTION, 'OUTBOX_RETENTION', context);
    // The relay keeps its transaction open while JetStream acknowledges; PostgreSQL must not end it meanwhile.
    if (config.OUTBOX_PUBLISH_TIMEOUT_MS >= config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS) {
      context.addIssue({
        code: 'custom',
        path: ['OUTBOX_PUBLISH_TIMEOUT_MS'],
        message: 'must be below DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS',
      });
    }
    // A command starts only if its writes can finish before the gateway stops waiting (see commandStartBy).
    if (config.NATS_REQUEST_TIMEOUT_MS <= config.DATABASE_STATEMENT_TIMEOUT_MS + COMMAND_MARGINS_MS) {
      context.addIssue({
        code: 'custom',
        path: ['NATS_REQUEST_TIMEOUT_MS'],
        message: `must exceed DATABASE_STATEMENT_TIMEOUT_MS by more than ${COMMAND_MARGINS_MS} ms`,
      });
    }
  });
export type BookingServiceConfig = z.infer<typeof bookingServiceEnvSchema>;

export const BOOKING_SERVICE_CONFIG = Symbol('BOOKING_SERVICE_CONFIG');

export const loadBookingServiceConfig = (env: NodeJS.ProcessEnv = process.env): BookingServiceConfig =>
  loadConfig(bookingServiceEnvSchema, env);
