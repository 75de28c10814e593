import {
  correlationIdOrNew,
  LOGGER,
  runWithCorrelationId,
  type BookingMetrics,
  type Logger,
} from '@booking/observability';
import { namesFor, REQUEST_ID_HEADER, type BookingNames, type ServiceReply } from '@booking/shared';
import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { NatsContext } from '@nestjs/microservices';
import { Observable, tap } from 'rxjs';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { BOOKING_METRICS } from '../metrics/booking-metrics.module.js';
import { InvalidPayloadError } from './valid-payload.js';

/**
 * Around every NATS request: takes the correlation id from the `x-request-id`
 * header (or makes one) and runs the handler under it, so every log line it
 * writes carries the id; times the handler by subject (without the
 * namespace, as the gateway labels it) and outcome; logs the request at debug
 * level. HTTP requests (health, metrics) pass through.
 */
@Injectable()
export class NatsObservabilityInterceptor implements NestInterceptor {
  private readonly names: BookingNames;

  constructor(
    @Inject(BOOKING_METRICS) private readonly metrics: BookingMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(BOOKING_SERVICE_CONFIG) config: BookingServiceConfig,
  ) {
    this.names = namesFor(config.BOOKING_NAMESPACE);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const nats = context.switchToRpc().getContext<NatsContext>();
    const subject = this.names.requestPattern(nats.getSubject());
    const correlationId = correlationIdOrNew(nats.getHeaders()?.get(REQUEST_ID_HEADER));
    const started = performance.now();
    const finish = (outcome: 'ok' | 'rejected' | 'error') => {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.natsHandlerDuration.observe({ subject, outcome }, seconds);
      if (this.logger.isLevelEnabled('debug')) {
        this.logger.debug({ subject, outcome, durationMs: Math.round(seconds * 10_000) / 10 }, 'request handled');
      }
    };
    return new Observable((subscriber) =>
      runWithCorrelationId(correlationId, () =>
        next
          .handle()
          .pipe(
            tap({
              next: (reply) => finish((reply as ServiceReply<unknown>).ok === false ? 'rejected' : 'ok'),
              // An invalid payload is answered like any other refusal.
              error: (error: unknown) => finish(error instanceof InvalidPayloadError ? 'rejected' : 'error'),
            }),
          )
          .subscribe(subscriber),
      ),
    );
  }
}
