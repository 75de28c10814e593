import { natsCheck, ObservabilityModule, type Observability } from '@booking/observability';
import { DatabaseModule, HealthModule } from '@booking/service-kit';
import { Module, type DynamicModule } from '@nestjs/common';
import { NOTIFICATION_SERVICE_CONFIG, type NotificationServiceConfig } from './config.js';
import { BookingEventsConsumer } from './notifications/booking-events.consumer.js';
import { NotificationsModule } from './notifications/notifications.module.js';

@Module({})
export class AppModule {
  static forConfig(config: NotificationServiceConfig, observability: Observability): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        ObservabilityModule.forService(observability),
        // Only the `notifications` schema is this service's; it never reads or writes the booking tables.
        DatabaseModule.forService(config, 'notification-service'),
        NotificationsModule,
        // Ready: PostgreSQL answers a query, NATS a round trip, and the consumer is pulling booking events.
        HealthModule.withChecks({
          imports: [NotificationsModule],
          inject: [BookingEventsConsumer],
          checks: (indicators, consumer: BookingEventsConsumer) => [
            natsCheck(indicators, 'nats', () => consumer.connection()),
            () =>
              consumer.isConsuming()
                ? indicators.check('consumer').up()
                : indicators.check('consumer').down('not consuming booking events'),
          ],
        }),
      ],
      providers: [{ provide: NOTIFICATION_SERVICE_CONFIG, useValue: config }],
      exports: [NOTIFICATION_SERVICE_CONFIG],
    };
  }
}
