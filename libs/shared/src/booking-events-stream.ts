import { jetstreamManager, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import type { BookingNames } from './names.js';

/**
 * How long JetStream remembers a message id: a re-send of the same outbox row
 * within this window (relay crashed between publishing and marking it
 * published, or a publish whose ack was lost in a NATS outage) is dropped.
 */
export const BOOKING_EVENTS_DUPLICATE_WINDOW_MS = 10 * 60_000;

/**
 * Creates the deployment's booking events stream, or brings an existing one
 * back to the contract: subjects exactly the three event types' (never the
 * request/reply subjects), file storage, kept until an operator sets limits.
 */
export async function ensureBookingEventsStream(connection: NatsConnection, names: BookingNames): Promise<void> {
  const manager = await jetstreamManager(connection);
  const stream = names.eventsStream;
  const config = {
    subjects: [...names.eventSubjects],
    duplicate_window: nanos(BOOKING_EVENTS_DUPLICATE_WINDOW_MS),
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
