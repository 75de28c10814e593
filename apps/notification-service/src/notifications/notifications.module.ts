import { createDeliveryMetrics, METRICS_REGISTRY, type Registry } from '@booking/observability';
import { Module } from '@nestjs/common';
import { NOTIFICATION_SERVICE_CONFIG, type NotificationServiceConfig } from '../config.js';
import { BookingEventsConsumer } from './booking-events.consumer.js';
import { LogChannel } from './channels/log.channel.js';
import { WebhookChannel } from './channels/webhook.channel.js';
import { DeliveryStore } from './delivery-store.js';
import { DELIVERY_METRICS, NotificationDispatcher, WEBHOOK_CHANNEL } from './notification-dispatcher.js';
import { notificationRetentionProvider } from './notification-retention.js';

@Module({
  providers: [
    LogChannel,
    {
      provide: WEBHOOK_CHANNEL,
      inject: [NOTIFICATION_SERVICE_CONFIG],
      useFactory: (config: NotificationServiceConfig): WebhookChannel | null =>
        config.NOTIFY_WEBHOOK_URL
          ? new WebhookChannel({
              url: config.NOTIFY_WEBHOOK_URL,
              timeoutMs: config.NOTIFY_WEBHOOK_TIMEOUT_MS,
              maxAttempts: config.NOTIFY_WEBHOOK_MAX_ATTEMPTS,
              backoffInitialMs: config.NOTIFY_WEBHOOK_BACKOFF_INITIAL_MS,
              backoffMaxMs: config.NOTIFY_WEBHOOK_BACKOFF_MAX_MS,
              concurrency: config.NOTIFY_WEBHOOK_CONCURRENCY,
            })
          : null,
    },
    {
      provide: DELIVERY_METRICS,
      inject: [METRICS_REGISTRY],
      useFactory: (registry: Registry) => createDeliveryMetrics(registry),
    },
    DeliveryStore,
    NotificationDispatcher,
    BookingEventsConsumer,
    notificationRetentionProvider,
  ],
  exports: [BookingEventsConsumer],
})
export class NotificationsModule {}
