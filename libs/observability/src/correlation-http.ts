import { REQUEST_ID_HEADER } from '@booking/shared';
import { correlationIdOrNew } from './correlation.js';

/** Fastify option: the request id is the client's `X-Request-Id` when acceptable, else a new UUID. */
export const genReqId = (request: { headers: Record<string, string | string[] | undefined> }): string =>
  correlationIdOrNew(request.headers[REQUEST_ID_HEADER]);
