import { DiscardPolicy, jetstreamManager, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { z } from 'zod';
import { durationMs } from './config.js';
import type { BookingNames } from './names.js';

/**
 * How long JetStream remembers a message id: a re-send of the same outbox row
 * within this window (a relay that crashed between publishing a row and
 * dequeuing it from `outbox_pending`, or a publish whose ack was lost in a
 * NATS outage) is dropped.
 */
export const BOOKING_EVENTS_DUPLICATE_WINDOW_MS = 10 * 60_000;

/** The stream's limits, read by every service that creates it: they must agree, or each start undoes the other's. */
export const bookingEventsStreamEnvSchema = z.object({
  /** Events older than this leave the stream; "0" keeps them for good. */
  BOOKING_EVENTS_MAX_AGE: durationMs.default(3 * 86_400_000),
  /** The oldest events leave the stream once it holds more bytes than this; 0 = no limit. */
  BOOKING_EVENTS_MAX_BYTES: z.coerce.number().int().min(0).default(0),
  /** Copies of the stream JetStream keeps, each on another node of the NATS cluster (at most 5). */
  BOOKING_EVENTS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
});

export interface BookingEventsStreamLimits {
  /** 0 = no age limit. */
  maxAgeMs: number;
  /** 0 = no size limit. */
  maxBytes: number;
  /** Nodes of the NATS cluster holding a copy. */
  replicas: number;
}

export const bookingEventsStreamLimits = (
  config: z.infer<typeof bookingEventsStreamEnvSchema>,
): BookingEventsStreamLimits => ({
  maxAgeMs: config.BOOKING_EVENTS_MAX_AGE,
  maxBytes: config.BOOKING_EVENTS_MAX_BYTES,
  replicas: config.BOOKING_EVENTS_REPLICAS,
});

/**
 * Checks that `retentionMs` (a table's retention, 0 = kept for good) outlasts the stream's
 * BOOKING_EVENTS_MAX_AGE, so that every event the stream can still deliver has its row; adds the issue
 * to `field` otherwise.
 */
export function checkRetentionOutlastsStream(
  config: { BOOKING_EVENTS_MAX_AGE: number },
  retentionMs: number,
  field: string,
  context: z.RefinementCtx,
): void {
  if (retentionMs > 0 && !(config.BOOKING_EVENTS_MAX_AGE > 0 && config.BOOKING_EVENTS_MAX_AGE < retentionMs)) {
    context.addIssue({
      code: 'custom',
      path: [field],
      message: 'must be 0 or longer than BOOKING_EVENTS_MAX_AGE (which must then be set)',
    });
  }
}

/** The limits a service applies when nothing is configured. */
export const DEFAULT_BOOKING_EVENTS_STREAM_LIMITS = bookingEventsStreamLimits(bookingEventsStreamEnvSchema.parse({}));

/**
 * Creates the deployment's booking events stream, or brings an existing one
 * back to the contract: subjects exactly the event types' (never the
 * request/reply subjects), file storage, and `limits` (the oldest events are
 * dropped first), on `limits.replicas` nodes of the NATS cluster (an existing
 * stream is scaled to that count).
 */
export async function ensureBookingEventsStream(
  connection: NatsConnection,
  names: BookingNames,
  limits: BookingEventsStreamLimits = DEFAULT_BOOKING_EVENTS_STREAM_LIMITS,
): Promise<void> {
  const manager = await jetstreamManager(connection);
  const stream = names.eventsStream;
  const config = {
    subjects: [...names.eventSubjects],
    // JetStream refuses a duplicate window longer than the stream keeps its messages.
    duplicate_window: nanos(
      limits.maxAgeMs > 0
        ? Math.min(BOOKING_EVENTS_DUPLICATE_WINDOW_MS, limits.maxAgeMs)
        : BOOKING_EVENTS_DUPLICATE_WINDOW_MS,
    ),
    max_age: nanos(limits.maxAgeMs),
    max_bytes: limits.maxBytes > 0 ? limits.maxBytes : -1,
    discard: DiscardPolicy.Old,
    num_replicas: limits.replicas,
  };
  try {
    await manager.streams.info(stream);
    await manager.streams.update(stream, config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    try {
      await manager.streams.add({ name: stream, ...config });
    } catch (addError) {
      // Another replica created it meanwhile (same contract): bring it in line once more.
      await manager.streams.update(stream, config).catch(() => {
        throw addError;
      });
    }
  }
}
