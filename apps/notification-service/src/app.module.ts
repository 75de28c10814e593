import { ObservabilityModule, type Observability } from '@booking/observability';
import { Module, type DynamicModule } from '@nestjs/common';
import { NOTIFICATION_SERVICE_CONFIG, type NotificationServiceConfig } from './config.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { NotificationsModule } from './notifications/notifications.module.js';

@Module({})
export class AppModule {
  static forConfig(config: NotificationServiceConfig, observability: Observability): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [ObservabilityModule.forService(observability), DatabaseModule, NotificationsModule, HealthModule],
      providers: [{ provide: NOTIFICATION_SERVICE_CONFIG, useValue: config }],
      exports: [NOTIFICATION_SERVICE_CONFIG],
    };
  }
}
