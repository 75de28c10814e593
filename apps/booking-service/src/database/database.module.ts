import { connectDatabase, type DatabaseConnection } from '@booking/database';
import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';

export const DATABASE = Symbol('DATABASE');

@Injectable()
class DatabaseShutdown implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly connection: DatabaseConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [BOOKING_SERVICE_CONFIG],
      useFactory: (config: BookingServiceConfig): DatabaseConnection =>
        connectDatabase(config.DATABASE_URL, {
          poolSize: config.DATABASE_POOL_SIZE,
          applicationName: 'booking-service',
        }),
    },
    DatabaseShutdown,
  ],
  exports: [DATABASE],
})
export class DatabaseModule {}
