import { parseBookingEvent, type BookingEvent } from '@booking/shared';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';

export interface StoredBookingEvent {
  seq: number;
  subject: string;
  event: BookingEvent;
}

export interface StreamRead {
  events: StoredBookingEvent[];
  /** Messages that are not valid booking events (counted, not replayed). */
  malformed: number;
}

export interface StreamWindow {
  /** The deployment's stream (`namesFor(namespace).eventsStream`). */
  stream: string;
  /** From this storage time on; from the beginning without it. */
  since?: Date;
}

const BATCH = 1_000;

/**
 * Reads a booking events stream from `since` (by the stream's storage time;
 * from the beginning without it) up to the last message present when the read
 * began, through an ordered consumer (ephemeral, nothing left behind), handing
 * each event to `visit` as it arrives: a whole stream never has to fit in
 * memory. Returns how many messages were not valid booking events.
 */
export async function scanBookingEvents(
  nats: NatsConnection,
  { stream, since }: StreamWindow,
  visit: (stored: StoredBookingEvent) => void,
): Promise<{ malformed: number }> {
  const manager = await jetstreamManager(nats);
  const { state } = await manager.streams.info(stream);
  let malformed = 0;
  if (state.messages === 0) return { malformed };
  const consumer = await jetstream(nats).consumers.get(
    stream,
    since
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() }
      : { deliver_policy: DeliverPolicy.All },
  );
  for (let done = false; !done;) {
    let received = 0;
    const batch = await consumer.fetch({ max_messages: BATCH, expires: 1_000 });
    for await (const message of batch) {
      received += 1;
      let event: BookingEvent | undefined;
      try {
        event = parseBookingEvent(message.data);
      } catch {
        malformed += 1;
      }
      if (event) visit({ seq: message.seq, subject: message.subject, event });
      if (message.seq >= state.last_seq) {
        done = true;
        break;
      }
    }
    if (received === 0) done = true;
  }
  return { malformed };
}

/** Every event of the stream from `since`, in stream order (for tests and small streams). */
export async function readBookingEvents(nats: NatsConnection, window: StreamWindow): Promise<StreamRead> {
  const events: StoredBookingEvent[] = [];
  const { malformed } = await scanBookingEvents(nats, window, (stored) => events.push(stored));
  return { events, malformed };
}
