import { BookingEventType, type BookingEvent } from '@booking/shared';

/** Bookings per event (by event id), as rebuilt from booking events or read from PostgreSQL. */
export type BookingCounts = Map<number, number>;

/**
 * Folds booking events into the net number of bookings per event: +1 per
 * `booking.created`, -1 per `booking.cancelled`; `booking.failed` and
 * `event.updated` (an organiser's change, capacity included) change no booking.
 */
export function rebuildBookingCounts(events: Iterable<BookingEvent>): BookingCounts {
  const counts: BookingCounts = new Map();
  for (const event of events) countBookingEvent(counts, event);
  return counts;
}

/** Folds one event into `counts`. */
export function countBookingEvent(counts: BookingCounts, event: BookingEvent): void {
  const delta = event.type === BookingEventType.created ? 1 : event.type === BookingEventType.cancelled ? -1 : 0;
  if (delta !== 0) counts.set(event.data.event_id, (counts.get(event.data.event_id) ?? 0) + delta);
}

export interface CountMismatch {
  event_id: number;
  replayed: number;
  database: number;
}

/** Every event whose counts differ (a missing entry counts as 0), by event id. */
export function compareBookingCounts(replayed: BookingCounts, database: BookingCounts): CountMismatch[] {
  const ids = [...new Set([...replayed.keys(), ...database.keys()])].sort((a, b) => a - b);
  return ids
    .map((id) => ({ event_id: id, replayed: replayed.get(id) ?? 0, database: database.get(id) ?? 0 }))
    .filter((entry) => entry.replayed !== entry.database);
}
