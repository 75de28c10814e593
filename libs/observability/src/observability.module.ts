import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { MetricsController } from './metrics/metrics.controller.js';
import { LOGGER, METRICS_REGISTRY } from './tokens.js';

export interface Observability {
  logger: Logger;
  registry: Registry;
}

/**
 * The service instance's logger and metrics registry as injectables, `GET
 * /metrics`, and Terminus for the health controllers. The app creates the
 * logger and registry before Nest (Nest's own logger and the Fastify hooks
 * need them first) and hands them in here.
 */
@Module({})
export class ObservabilityModule {
  static forService({ logger, registry }: Observability): DynamicModule {
    return {
      module: ObservabilityModule,
      global: true,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [MetricsController],
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: METRICS_REGISTRY, useValue: registry },
      ],
      exports: [LOGGER, METRICS_REGISTRY, TerminusModule],
    };
  }
}
