import { jetstreamManager, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { BOOKING_EVENT_SUBJECTS, BOOKING_EVENTS_STREAM } from './booking-events.js';

/**
 * How long JetStream remembers a message id: a re-send of the same outbox row
 * within this window (relay crashed between publishing and marking it
 * published, or a publish whose ack was lost in a NATS outage) is dropped.
 */
export const BOOKING_EVENTS_DUPLICATE_WINDOW_MS = 10 * 60_000;

/**
 * Creates the booking events stream, or brings an existing one back to the
 * contract: subjects exactly the three event types (never the request/reply
 * subjects), file storage, kept until an operator sets limits, on `replicas` nodes of the
 * NATS cluster (an existing stream is scaled to that count).
 */
export async function ensureBookingEventsStream(connection: NatsConnection, { replicas = 1 } = {}): Promise<void> {
  const manager = await jetstreamManager(connection);
  const config = {
    subjects: [...BOOKING_EVENT_SUBJECTS],
    duplicate_window: nanos(BOOKING_EVENTS_DUPLICATE_WINDOW_MS),
    num_replicas: replicas,
  };
  try {
    await manager.streams.info(BOOKING_EVENTS_STREAM);
    await manager.streams.update(BOOKING_EVENTS_STREAM, config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    try {
      await manager.streams.add({ name: BOOKING_EVENTS_STREAM, ...config });
    } catch (addError) {
      // Another replica created it meanwhile (same contract): bring it in line once more.
      await manager.streams.update(BOOKING_EVENTS_STREAM, config).catch(() => {
        throw addError;
      });
    }
  }
}
