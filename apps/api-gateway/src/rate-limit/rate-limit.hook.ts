import { STATUS_CODES } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { rateLimitHeaders, type RateLimitService } from './rate-limit.service.js';

/** Probes and scrapes must never be refused, or an orchestrator would restart a healthy replica. */
export const isUnlimitedPath = (url: string): boolean => {
  const path = url.split('?', 1)[0]!;
  return path.startsWith('/health/') || path === '/metrics';
};

/**
 * The per-IP limit runs as an `onRequest` hook (after the request id and the
 * security headers, so its 429 carries both), before the body is read or a
 * route is matched, so floods of junk, oversized bodies and unknown paths are
 * refused as cheaply as possible.
 */
export function registerIpRateLimit(fastify: FastifyInstance, limits: RateLimitService): void {
  if (!limits.enabled) return;
  fastify.addHook('onRequest', async (request: FastifyRequest, reply) => {
    if (isUnlimitedPath(request.url)) return;
    const decision = await limits.consume('ip', request.ip);
    void reply.headers(rateLimitHeaders(decision));
    if (!decision.allowed) {
      await reply.code(429).send({
        message: `Too many requests from ${request.ip}; retry in ${decision.resetSeconds} s`,
        error: STATUS_CODES[429],
        statusCode: 429,
      });
      return reply;
    }
  });
}
