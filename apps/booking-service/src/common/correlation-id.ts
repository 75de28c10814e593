import { randomUUID } from 'node:crypto';
import { currentCorrelationId } from '@booking/observability';
import { isCorrelationId, REQUEST_ID_HEADER } from '@booking/shared';
import type { NatsContext } from '@nestjs/microservices';

/**
 * The correlation id stored with the events a request causes: the gateway's
 * request id (NATS header `x-request-id`) when it sent one, a fresh id otherwise.
 */
export function correlationIdOf(context: NatsContext | undefined): string {
  // Inside a NATS handler the interceptor has already taken (or made) the id that the log lines carry.
  const current = currentCorrelationId();
  if (current !== undefined) return current;
  const headers = context?.getHeaders() as { get(name: string): string } | undefined;
  const requestId = headers?.get(REQUEST_ID_HEADER);
  return isCorrelationId(requestId) ? requestId : randomUUID();
}
