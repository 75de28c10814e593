import { natsCheck, ObservabilityModule, type Observability } from '@booking/observability';
import { DatabaseModule, HealthModule } from '@booking/service-kit';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { BookingModule } from './booking/booking.module.js';
import { NatsObservabilityInterceptor } from './common/nats-observability.interceptor.js';
import { RpcErrorFilter } from './common/rpc-error.filter.js';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from './config.js';
import { EventsModule } from './events/events.module.js';
import { NatsServerConnection } from './health/nats-server-connection.js';
import { BookingMetricsModule } from './metrics/booking-metrics.module.js';
import { OutboxModule } from './outbox/outbox.module.js';
import { WaitlistModule } from './waitlist/waitlist.module.js';

@Module({})
export class AppModule {
  static forConfig(config: BookingServiceConfig, observability: Observability): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        ObservabilityModule.forService(observability),
        BookingMetricsModule,
        DatabaseModule.forService(config, 'booking-service'),
        BookingModule,
        EventsModule,
        WaitlistModule,
        // Ready to take work: PostgreSQL answers a query and NATS a round trip.
        HealthModule.withChecks({
          providers: [NatsServerConnection],
          inject: [NatsServerConnection],
          checks: (indicators, nats: NatsServerConnection) => [natsCheck(indicators, 'nats', () => nats.get())],
        }),
        OutboxModule,
      ],
      providers: [
        { provide: BOOKING_SERVICE_CONFIG, useValue: config },
        { provide: APP_FILTER, useClass: RpcErrorFilter },
        { provide: APP_INTERCEPTOR, useClass: NatsObservabilityInterceptor },
      ],
      exports: [BOOKING_SERVICE_CONFIG],
    };
  }
}
