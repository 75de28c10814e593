import { connectDatabase, type DatabaseConnection } from '@booking/database';
import { createDatabaseMetrics, instrumentQueries, METRICS_REGISTRY, type Registry } from '@booking/observability';
import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { NOTIFICATION_SERVICE_CONFIG, type NotificationServiceConfig } from '../config.js';

export const DATABASE = Symbol('DATABASE');

@Injectable()
class DatabaseShutdown implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly connection: DatabaseConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}

/** Only the `notifications` schema is this service's; it never reads or writes the booking tables. */
@Global()
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [NOTIFICATION_SERVICE_CONFIG, METRICS_REGISTRY],
      useFactory: (config: NotificationServiceConfig, registry: Registry): DatabaseConnection => {
        const connection = connectDatabase(config.DATABASE_URL, {
          poolSize: config.DATABASE_POOL_SIZE,
          applicationName: 'notification-service',
          statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
          idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
        });
        instrumentQueries(connection.pool, createDatabaseMetrics(registry, connection.pool, config.DATABASE_POOL_SIZE));
        return connection;
      },
    },
    DatabaseShutdown,
  ],
  exports: [DATABASE],
})
export class DatabaseModule {}
