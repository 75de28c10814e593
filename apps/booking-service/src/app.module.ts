import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { BookingModule } from './booking/booking.module.js';
import { RpcErrorFilter } from './common/rpc-error.filter.js';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from './config.js';
import { DatabaseModule } from './database/database.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { OutboxModule } from './outbox/outbox.module.js';

@Module({})
export class AppModule {
  static forConfig(config: BookingServiceConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [DatabaseModule, BookingModule, EventsModule, HealthModule, OutboxModule],
      providers: [
        { provide: BOOKING_SERVICE_CONFIG, useValue: config },
        { provide: APP_FILTER, useClass: RpcErrorFilter },
      ],
      exports: [BOOKING_SERVICE_CONFIG],
    };
  }
}
