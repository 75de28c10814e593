import type { FastifyInstance } from 'fastify';
import { REQUEST_ID_HEADER } from '@booking/shared';
import { correlationIdOrNew, runWithCorrelationId } from './correlation.js';

/** Fastify option: the request id is the client's `X-Request-Id` when acceptable, else a new UUID. */
export const genReqId = (request: { headers: Record<string, string | string[] | undefined> }): string =>
  correlationIdOrNew(request.headers[REQUEST_ID_HEADER]);

/**
 * Makes the request id the current correlation id for the route handler, so
 * every log line it causes carries it. Entered in `preHandler`, after the body
 * has been read, because stream callbacks during parsing would not carry it.
 */
export function installCorrelationId(fastify: FastifyInstance): void {
  fastify.addHook('preHandler', (request, _reply, done) => {
    runWithCorrelationId(request.id, done);
  });
}
