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

/**
 * A client-supplied id is accepted only when short and plain, so it cannot
 * forge log lines or bloat headers: letters, digits and `. _ ~ : + / = @ -`
 * (UUIDs, ULIDs, base64 and trace ids fit).
 */
const ACCEPTABLE_ID = /^[A-Za-z0-9._~:+/=@-]{1,128}$/;

/** What ACCEPTABLE_ID allows, for the gateway's refusal of a malformed X-Request-Id. */
export const ACCEPTABLE_ID_DESCRIPTION = '1-128 characters of letters, digits and . _ ~ : + / = @ -';

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
