// The statement that reads what decides a batch of reservations, and its rows as `BatchFacts`.
import type { ReserveBookingCommand } from '@booking/shared';
import { sql } from 'drizzle-orm';
import { bookingKey } from './reservation-rules.js';
import type { BatchFacts } from './reservation-store.js';
import { salesColumns, toEventSales, type SalesColumns } from './sales-columns.js';

/** The requested (event, user) pairs that are already booked. */
export const bookedAmong = (commands: readonly ReserveBookingCommand[]) => sql`
  SELECT b.event_id, b.user_id FROM bookings b
  JOIN unnest(${toIntArray(commands.map((c) => c.event_id))}, ${toTextArray(commands.map((c) => c.user_id))})
    AS r(event_id, user_id) ON b.event_id = r.event_id AND b.user_id = r.user_id`;

/**
 * What decides a batch: each event's seats left and sales (one row each), then
 * the requested pairs already booked.
 */
export const batchFacts = (commands: readonly ReserveBookingCommand[], eventIds: readonly number[]) => sql`
  SELECT id AS event_id, total_seats - booked_seats AS seats_left, NULL AS user_id, ${salesColumns(sql`events`)}
  FROM events WHERE id = ANY(${toIntArray(eventIds)})
  UNION ALL
  SELECT event_id, NULL, user_id, NULL, NULL, NULL FROM (${bookedAmong(commands)}) AS booked`;

export interface FactRow extends SalesColumns {
  /** Null only where a statement joined no fact at all (none of the events exists). */
  event_id: number | null;
  seats_left: number | null;
  user_id: string | null;
}

export function toBatchFacts(rows: readonly FactRow[]): BatchFacts {
  const facts: BatchFacts = { seatsLeft: new Map(), booked: new Set(), sales: new Map() };
  for (const row of rows) {
    const { event_id: eventId, seats_left: left, user_id: userId } = row;
    if (eventId === null) continue;
    if (userId === null) {
      facts.seatsLeft.set(eventId, left!);
      facts.sales.set(eventId, toEventSales(row));
    } else facts.booked.add(bookingKey(eventId, userId));
  }
  return facts;
}

// One array parameter each (pg encodes JS arrays), not one parameter per element.
export const toIntArray = (values: readonly number[]) => sql`${sql.param(values)}::int[]`;
export const toTextArray = (values: readonly string[]) => sql`${sql.param(values)}::varchar[]`;
