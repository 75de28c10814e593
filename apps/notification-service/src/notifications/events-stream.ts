import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBookingEventsStream, type BookingEventsStreamLimits, type BookingNames } from '@booking/shared';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { PermissionViolationError, RequestError, type NatsConnection } from '@nats-io/nats-core';

export interface StreamWait {
  /** Stops waiting (the service shuts down). */
  signal: AbortSignal;
  /** Called once, when the wait begins. */
  onWait: (stream: string) => void;
  /** How long to wait for the booking service to create the stream. */
  waitMs?: number;
  pollMs?: number;
}

/**
 * Creates the deployment's booking events stream or brings it to `limits`, as the booking service does:
 * whoever starts first. NATS credentials that may only consume (infrastructure/nats/authorization.conf)
 * leave the stream to the booking service; this then waits for the stream to exist, and fails after
 * `waitMs`.
 */
export async function ensureStreamOrWait(
  nats: NatsConnection,
  names: BookingNames,
  limits: BookingEventsStreamLimits,
  { signal, onWait, waitMs = 60_000, pollMs = 500 }: StreamWait,
): Promise<void> {
  try {
    await ensureBookingEventsStream(nats, names, limits);
    return;
  } catch (error) {
    if (!(error instanceof RequestError && error.cause instanceof PermissionViolationError)) throw error;
  }
  const manager = await jetstreamManager(nats);
  const stream = names.eventsStream;
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await manager.streams.info(stream);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`stream ${stream} was not created within ${waitMs} ms (the booking service creates it)`);
    }
    if (attempt === 0) onWait(stream);
    await sleep(pollMs, undefined, { signal });
  }
}
