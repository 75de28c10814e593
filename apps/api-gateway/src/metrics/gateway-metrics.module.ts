import { createGatewayMetrics, MetricsController, METRICS_REGISTRY, type Registry } from '@booking/observability';
import { Global, Module, SetMetadata } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PUBLIC_ROUTE } from '../auth/auth.decorators.js';

export const GATEWAY_METRICS = Symbol('GATEWAY_METRICS');

// Prometheus scrapes without a token, also when AUTH_MODE=required (nginx keeps /metrics internal);
// it is an operator's endpoint, not part of the API document.
SetMetadata(PUBLIC_ROUTE, true)(MetricsController);
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
