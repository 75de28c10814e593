import { observabilityEnvSchema } from '@booking/observability';
import { commonEnvSchema, databaseEnvSchema, loadConfig } from '@booking/shared';
import { z } from 'zod';

export const notificationServiceEnvSchema = commonEnvSchema
  .extend(databaseEnvSchema.shape)
  .extend(observabilityEnvSchema.shape)
  .extend({
    /** HTTP port for health and metrics; the work arrives from JetStream. */
    NOTIFICATION_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
    /** Durable consumer name: replicas sharing it share the work; each event is handled by one of them. */
    NOTIFICATION_CONSUMER_NAME: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, "-" or "_"' })
      .default('notification-service'),
    /** Events handled at once (the consumer's max_ack_pending). */
    NOTIFICATION_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(32),
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
    /**
     * Handling one event (recording it, every channel's attempts) gives up after this long; the event is
     * offered again later, so a stuck dependency never holds a slot of NOTIFICATION_MAX_IN_FLIGHT for good.
     */
    NOTIFICATION_HANDLE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(120_000),
  })
  .superRefine((config, context) => {
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
