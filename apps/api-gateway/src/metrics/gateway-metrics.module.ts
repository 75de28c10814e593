import { createGatewayMetrics, MetricsController, METRICS_REGISTRY, type Registry } from '@booking/observability';
import { Global, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

export const GATEWAY_METRICS = Symbol('GATEWAY_METRICS');

// An operator's endpoint, not part of the API document; Prometheus scrapes it without a token, also when
// AUTH_MODE=required (the request pipeline's rule for `/metrics`; nginx keeps it internal).
ApiExcludeController()(MetricsController);

/** The gateway's own metric objects, registered on the instance's registry (served at /metrics). */
@Global()
@Module({
  providers: [
    {
      provide: GATEWAY_METRICS,
      inject: [METRICS_REGISTRY],
      useFactory: (registry: Registry) => createGatewayMetrics(registry),
    },
  ],
  exports: [GATEWAY_METRICS],
})
export class GatewayMetricsModule {}
