import { randomUUID } from 'node:crypto';
import { currentCorrelationId } from '@booking/observability';
import { REQUEST_ID_HEADER } from '@booking/shared';
import type { NatsContext } from '@nestjs/microservices';

const MAX_LENGTH = 255;

/**
 * The correlation id stored with the events a request causes: the gateway's
 * request id (NATS header `x-request-id`) when it sent one, a fresh id otherwise.
 */
export function correlationIdOf(context: NatsContext | undefined): string {
  // Inside a NATS handler the interceptor has already taken (or made) the id that the log lines carry.
  const current = currentCorrelationId();
  if (current !== undefined) return current;
  const headers = context?.getHeaders() as { get(name: string): string } | undefined;
  const requestId = headers?.get(REQUEST_ID_HEADER)?.trim();
  return requestId && requestId.length <= MAX_LENGTH ? requestId : randomUUID();
}
