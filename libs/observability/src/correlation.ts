import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { isCorrelationId } from '@booking/shared';

/**
 * The correlation id of the request being handled. It enters at the gateway
 * (the client's `X-Request-Id`, or a new UUID), travels as the NATS header
 * REQUEST_ID_HEADER to the booking service, is stored with the events it
 * emits, and is read back by their consumers. Every log line written while it
 * is set carries it.
 */

const storage = new AsyncLocalStorage<string>();

/** An incoming id (a header's value) when it follows the shared rule (`isCorrelationId`). */
export function correlationIdFrom(value: unknown): string | undefined {
  const candidate: unknown = Array.isArray(value) ? value[0] : value;
  return isCorrelationId(candidate) ? candidate : undefined;
}

/** The incoming id when acceptable, otherwise a fresh one. */
export const correlationIdOrNew = (value: unknown): string => correlationIdFrom(value) ?? randomUUID();

export function runWithCorrelationId<T>(id: string, fn: () => T): T {
  return storage.run(id, fn);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore();
}
