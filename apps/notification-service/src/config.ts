import { observabilityEnvSchema } from '@booking/observability/config';
import {
  BOOKING_EVENT_SUBJECTS,
  bookingEventsStreamEnvSchema,
  BookingEventType,
  checkNatsConnection,
  checkRetentionOutlastsStream,
  commonEnvSchema,
  databaseEnvSchema,
  durationMs,
  loadConfig,
  retentionEnvSchema,
} from '@booking/shared';
import { z } from 'zod';

export const notificationServiceEnvSchema = commonEnvSchema
  .extend(databaseEnvSchema.shape)
  .extend(observabilityEnvSchema.shape)
  .extend(bookingEventsStreamEnvSchema.shape)
  .extend(retentionEnvSchema.shape)
  .extend({
    /** HTTP port for health and metrics; the work arrives from JetStream. */
    NOTIFICATION_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
    /**
     * Durable consumer name: replicas sharing it share the work; each event is handled by one of them. Scoped
     * by the stream, so deployments with different BOOKING_NAMESPACEs may use the same name.
     */
    NOTIFICATION_CONSUMER_NAME: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, "-" or "_"' })
      .default('notification-service'),
    /**
     * The event types notified; the consumer takes only these from the stream (the others stay in it). A
     * refused reservation (`booking.failed`) already got its 409 and, in a sold-out rush, outnumbers the
     * bookings many times over, so by default it is not notified.
     */
    NOTIFICATION_EVENT_TYPES: z
      .string()
      .default(`${BookingEventType.created},${BookingEventType.cancelled}`)
      .transform((list) => [...new Set(list.split(',').map((type) => type.trim()))])
      .pipe(
        z
          .array(z.enum(BookingEventType), {
            error: `must list event types from ${BOOKING_EVENT_SUBJECTS.join(', ')}, separated by commas`,
          })
          .min(1),
      ),
    /**
     * Events recorded together, in one statement, at most (and never more than NOTIFICATION_MAX_IN_FLIGHT):
     * those that arrive while a batch is being recorded (or within NOTIFICATION_BATCH_DELAY_MS) form the next one.
     */
    NOTIFICATION_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(256),
    /**
     * How long the first event of a batch waits for others before the batch is recorded (a full batch goes at
     * once): each batch costs round trips to PostgreSQL and NATS whatever its size.
     */
    NOTIFICATION_BATCH_DELAY_MS: z.coerce.number().int().min(0).max(10_000).default(20),
    /** Events received and not yet acknowledged, at most (the consumer's max_ack_pending). */
    NOTIFICATION_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(1_024),
    /**
     * A message not acknowledged within this time is redelivered (to this or another replica). Handling
     * sends progress heartbeats, so this bounds only how long the events in flight at a crash wait.
     */
    NOTIFICATION_ACK_WAIT_MS: z.coerce.number().int().min(1_000).max(600_000).default(10_000),
    /** Where each booking event is POSTed; unset = no webhook channel. */
    NOTIFY_WEBHOOK_URL: z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .optional()
      .or(z.literal('').transform(() => undefined)),
    NOTIFY_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
    /** Attempts per event, first one included, before the delivery is dead-lettered. */
    NOTIFY_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(6),
    NOTIFY_WEBHOOK_BACKOFF_INITIAL_MS: z.coerce.number().int().min(1).max(60_000).default(200),
    NOTIFY_WEBHOOK_BACKOFF_MAX_MS: z.coerce.number().int().min(1).max(600_000).default(10_000),
    /** Webhook requests in flight at once; an event whose webhook is slow holds one of them, not its batch. */
    NOTIFY_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(32),
    /**
     * Handling a batch (recording it, every channel's attempts for each of its events) gives up after this
     * long; its events not done by then are offered again later, so a stuck dependency never holds a place
     * of NOTIFICATION_MAX_IN_FLIGHT for good.
     */
    NOTIFICATION_HANDLE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(120_000),
    /** Received events and their deliveries older than this are deleted, except pending ones; "0" keeps them. */
    NOTIFICATION_RETENTION: durationMs.default(7 * 86_400_000),
  })
  .superRefine((config, context) => {
    checkNatsConnection(config, context);
    // An event is recognised as handled for as long as the stream can deliver it again.
    checkRetentionOutlastsStream(config, config.NOTIFICATION_RETENTION, 'NOTIFICATION_RETENTION', context);
    // Room for every webhook attempt and the longest backoffs between them.
    const webhookWorstCase =
      config.NOTIFY_WEBHOOK_MAX_ATTEMPTS * (config.NOTIFY_WEBHOOK_TIMEOUT_MS + config.NOTIFY_WEBHOOK_BACKOFF_MAX_MS);
    if (config.NOTIFY_WEBHOOK_URL && config.NOTIFICATION_HANDLE_TIMEOUT_MS <= webhookWorstCase) {
      context.addIssue({
        code: 'custom',
        path: ['NOTIFICATION_HANDLE_TIMEOUT_MS'],
        message: `must exceed the webhook's attempts with their timeouts and backoffs (${webhookWorstCase} ms)`,
      });
    }
  });
export type NotificationServiceConfig = z.infer<typeof notificationServiceEnvSchema>;

export const NOTIFICATION_SERVICE_CONFIG = Symbol('NOTIFICATION_SERVICE_CONFIG');

export const loadNotificationServiceConfig = (env: NodeJS.ProcessEnv = process.env): NotificationServiceConfig =>
  loadConfig(notificationServiceEnvSchema, env);
