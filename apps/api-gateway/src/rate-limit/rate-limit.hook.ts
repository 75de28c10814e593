import { STATUS_CODES } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { rateLimitHeaders, type RateLimitDecision, type RateLimitService } from './rate-limit.service.js';

/** Probes and scrapes must never be refused, or an orchestrator would restart a healthy replica. */
export const isUnlimitedPath = (url: string): boolean =>
  url.startsWith('/health/') || url === '/metrics' || url.startsWith('/metrics?');

/**
 * The per-IP limit runs as an `onRequest` hook (after the request id and the
 * security headers, so its 429 carries both), before the body is read or a
 * route is matched, so floods of junk, oversized bodies and unknown paths are
 * refused as cheaply as possible. A callback hook: most decisions are made at
 * once, and then the request goes on without a promise.
 */
export function registerIpRateLimit(fastify: FastifyInstance, limits: RateLimitService): void {
  if (!limits.enabled) return;
  fastify.addHook('onRequest', (request, reply, done) => {
    if (isUnlimitedPath(request.url)) return done();
    const answer = (decision: RateLimitDecision): void => {
      void reply.headers(rateLimitHeaders(decision));
      if (decision.allowed) return done();
      void reply.code(429).send({
        message: `Too many requests from ${request.ip}; retry in ${decision.resetSeconds} s`,
        error: STATUS_CODES[429],
        statusCode: 429,
      });
    };
    const decision = limits.consume('ip', request.ip);
    if (decision instanceof Promise) decision.then(answer, done);
    else answer(decision);
  });
}
