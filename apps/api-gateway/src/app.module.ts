import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { BookingsModule } from './bookings/bookings.module.js';
import { HttpErrorFilter } from './common/http-error.filter.js';
import { GATEWAY_CONFIG, type GatewayConfig } from './config.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';

@Module({})
export class AppModule {
  static forConfig(config: GatewayConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [BookingsModule, EventsModule, HealthModule],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
      exports: [GATEWAY_CONFIG],
    };
  }
}
