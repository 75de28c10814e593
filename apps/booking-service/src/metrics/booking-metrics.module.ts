import { createBookingMetrics, METRICS_REGISTRY } from '@booking/observability';
import { Global, Module } from '@nestjs/common';
import type { Registry } from '@booking/observability';

export const BOOKING_METRICS = Symbol('BOOKING_METRICS');

/** The booking service's own metric objects, registered on the instance's registry (served at /metrics). */
@Global()
@Module({
  providers: [
    {
      provide: BOOKING_METRICS,
      inject: [METRICS_REGISTRY],
      useFactory: (registry: Registry) => createBookingMetrics(registry),
    },
  ],
  exports: [BOOKING_METRICS],
})
export class BookingMetricsModule {}
