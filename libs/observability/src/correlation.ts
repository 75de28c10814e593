import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * The correlation id of the request being handled. It enters at the gateway
 * (the client's `X-Request-Id`, or a new UUID), travels as the NATS header
 * REQUEST_ID_HEADER to the booking service, is stored with the events it
 * emits, and is read back by their consumers. Every log line written while it
 * is set carries it.
 */

const storage = new AsyncLocalStorage<string>();

/** A client-supplied id is accepted only when short and plain, so it cannot forge log lines or bloat headers. */
const ACCEPTABLE_ID = /^[\w.:@-]{1,128}$/;

export function correlationIdFrom(value: unknown): string | undefined {
  const candidate = Array.isArray(value) ? value[0] : value;
  return typeof candidate === 'string' && ACCEPTABLE_ID.test(candidate) ? candidate : undefined;
}

/** The incoming id when acceptable, otherwise a fresh one. */
export const correlationIdOrNew = (value: unknown): string => correlationIdFrom(value) ?? randomUUID();

export function runWithCorrelationId<T>(id: string, fn: () => T): T {
  return storage.run(id, fn);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore();
}
