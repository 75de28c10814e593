import {
  correlationIdOrNew,
  LOGGER,
  runWithCorrelationId,
  type BookingMetrics,
  type Logger,
} from '@booking/observability';
import { REQUEST_ID_HEADER, type ServiceReply } from '@booking/shared';
import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { NatsContext } from '@nestjs/microservices';
import { Observable, tap } from 'rxjs';
import { BOOKING_METRICS } from '../metrics/booking-metrics.module.js';
import { InvalidPayloadError } from './valid-payload.js';

/**
 * Around every NATS request: takes the correlation id from the `x-request-id`
 * header (or makes one) and runs the handler under it, so every log line it
 * writes carries the id; times the handler by subject and outcome; logs the
 * request at debug level. HTTP requests (health, metrics) pass through.
 */
@Injectable()
export class NatsObservabilityInterceptor implements NestInterceptor {
  constructor(
    @Inject(BOOKING_METRICS) private readonly metrics: BookingMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const nats = context.switchToRpc().getContext<NatsContext>();
    const subject = nats.getSubject();
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
