import { connectDatabase, ReplicaReads, type DatabaseConnection } from '@booking/database';
import { createDatabaseMetrics, instrumentQueries, METRICS_REGISTRY, type Registry } from '@booking/observability';
import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';

/** The settings of `databaseEnvSchema` (@booking/shared) the pool is made with. */
export interface DatabaseConfig {
  DATABASE_URL: string;
  DATABASE_POOL_SIZE: number;
  DATABASE_STATEMENT_TIMEOUT_MS: number;
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: number;
  /** A streaming standby for queries that may read it (`ReplicaReads`); unset: they read the primary. */
  DATABASE_READ_URL?: string;
}

/** The service's `DatabaseConnection` (pool and Drizzle), closed when the application shuts down. */
export const DATABASE = Symbol('DATABASE');
/** `ReplicaReads` over the service's primary and its `DATABASE_READ_URL`, if any. */
export const REPLICA_READS = Symbol('REPLICA_READS');

@Injectable()
class DatabaseShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(DATABASE) private readonly connection: DatabaseConnection,
    @Inject(REPLICA_READS) private readonly replicaReads: ReplicaReads,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.connection.close(), this.replicaReads.close()]);
  }
}

/** One PostgreSQL pool per service instance, its queries and pool timed on the instance's metrics registry. */
@Global()
@Module({})
export class DatabaseModule {
  /** `applicationName` names the service's sessions in PostgreSQL (`pg_stat_activity`). */
  static forService(config: DatabaseConfig, applicationName: string): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: DATABASE,
          inject: [METRICS_REGISTRY],
          useFactory: (registry: Registry): DatabaseConnection => {
            const connection = connectDatabase(config.DATABASE_URL, {
              poolSize: config.DATABASE_POOL_SIZE,
              applicationName,
              statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
              idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
            });
            instrumentQueries(
              connection.pool,
              createDatabaseMetrics(registry, connection.pool, config.DATABASE_POOL_SIZE),
            );
            return connection;
          },
        },
        {
          provide: REPLICA_READS,
          inject: [DATABASE],
          useFactory: (primary: DatabaseConnection) => {
            const replica =
              config.DATABASE_READ_URL === undefined
                ? undefined
                : connectDatabase(config.DATABASE_READ_URL, {
                    poolSize: config.DATABASE_POOL_SIZE,
                    applicationName: `${applicationName} (reads)`,
                    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
                    idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
                    // A standby that does not answer soon is passed over for the primary.
                    connectTimeoutMs: 1_000,
                  });
            return new ReplicaReads(primary, replica, new Logger(ReplicaReads.name));
          },
        },
        DatabaseShutdown,
      ],
      exports: [DATABASE, REPLICA_READS],
    };
  }
}
