import { ObservabilityModule, type Observability } from '@booking/observability';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TokenVerifier } from './auth/token-verifier.js';
import { BookingsModule } from './bookings/bookings.module.js';
import { HttpErrorFilter } from './common/http-error.filter.js';
import { ZodValidationPipe } from './common/zod-validation.pipe.js';
import { GATEWAY_CONFIG, type GatewayConfig } from './config.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { LiveModule } from './live/live.module.js';
import { MeModule } from './me/me.module.js';
import { GatewayMetricsModule } from './metrics/gateway-metrics.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { WaitlistModule } from './waitlist/waitlist.module.js';

@Module({})
export class AppModule {
  static forConfig(config: GatewayConfig, observability: Observability): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        ObservabilityModule.forService(observability),
        GatewayMetricsModule,
        RateLimitModule,
        BookingsModule,
        EventsModule,
        HealthModule,
        LiveModule,
        MeModule,
        WaitlistModule,
      ],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: APP_PIPE, useValue: new ZodValidationPipe() },
        TokenVerifier,
      ],
      exports: [GATEWAY_CONFIG, TokenVerifier],
    };
  }
}
