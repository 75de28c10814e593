import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { HttpMetrics } from './registry.js';

/** Every path no route matched shares this label value, so scanners cannot create new series. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Records every HTTP response (including 404s and errors Fastify raises
 * before a route runs) by route template — `/api/bookings/:id`, never the raw
 * URL — and logs it at debug level. One hook, no per-request allocation
 * beyond the label lookup.
 */
export function installHttpMetrics(fastify: FastifyInstance, metrics: HttpMetrics, logger: Logger): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const seconds = reply.elapsedTime / 1000;
    metrics.requestDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, seconds);
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        {
          correlationId: request.id,
          method: request.method,
          route,
          statusCode: reply.statusCode,
          durationMs: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request completed',
      );
    }
    done();
  });
}
