import { createServiceApp, type StartOptions } from '@booking/service-kit';
import type { INestApplication } from '@nestjs/common';
import { AppModule } from './app.module.js';
import type { NotificationServiceConfig } from './config.js';

/**
 * Starts the notification service: a durable JetStream consumer of booking
 * events (started when the app boots) and a small HTTP listener for health and metrics.
 */
export async function startNotificationService(
  config: NotificationServiceConfig,
  options: StartOptions = {},
): Promise<INestApplication> {
  const app = await createServiceApp(
    {
      service: 'notification-service',
      logLevel: config.LOG_LEVEL,
      // The log channel's lines are notifications, written before the commit that records their events:
      // a line must have left the process by then, or a crash could lose the line of a recorded event.
      logSync: true,
      module: (observability) => AppModule.forConfig(config, observability),
    },
    options,
  );
  await app.listen(config.NOTIFICATION_SERVICE_PORT, '0.0.0.0');
  return app;
}
