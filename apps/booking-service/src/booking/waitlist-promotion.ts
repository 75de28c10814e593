import type { DatabaseConnection } from '@booking/database';
import type { BookingView } from '@booking/shared';
import { sql } from 'drizzle-orm';
import { insertCreatedEvents } from '../outbox/outbox-events.js';
import { toBookingView, type BookingViewRow } from './booking-queries.js';
import { salesColumns, toEventSales, type SalesColumns } from './sales-columns.js';
import { promotedFrom } from './waitlist-rules.js';

/** A statement runner: a transaction's. */
export type Executor = Pick<DatabaseConnection['db'], 'execute'>;

interface LineHeadRow extends SalesColumns {
  seats_left: number;
  /** The first in line, as many as there are seats left, in order. */
  first_waiting: string[];
}

/**
 * Gives the seats left of event `eventId` to the first in its line
 * (`promotedFrom` decides who), each a booking with its `booking.created`
 * event (`source: "waitlist"`, correlation id of the request that freed the
 * seat). Runs inside the transaction that freed the seats, which must already
 * hold the event's row lock (the seat-counter trigger's, or its own): every
 * join, leave and booking of the event waits for it, and each statement here
 * takes a fresh snapshot after it (READ COMMITTED), so the line and the seats
 * read are those the write finds. The bookings are checked by the constraints
 * and the window's trigger like any other.
 */
export async function promoteFromWaitlist(
  tx: Executor,
  eventId: number,
  correlationId: string,
): Promise<BookingView[]> {
  const { rows } = await tx.execute<LineHeadRow>(sql`
    SELECT e.total_seats - e.booked_seats AS seats_left, ${salesColumns(sql`e`)},
           ARRAY(SELECT w.user_id FROM waitlist w WHERE w.event_id = e.id ORDER BY w.id
                 LIMIT GREATEST(e.total_seats - e.booked_seats, 0)) AS first_waiting
    FROM events e WHERE e.id = ${eventId}`);
  const head = rows[0];
  if (!head) return [];
  const promoted = promotedFrom(head.first_waiting, head.seats_left, toEventSales(head));
  if (promoted.length === 0) return [];
  const inserted = await tx.execute<BookingViewRow>(sql`
    WITH promoted AS (
      DELETE FROM waitlist WHERE event_id = ${eventId} AND user_id = ANY(${sql.param(promoted)}::varchar[])
      RETURNING id, user_id
    ), inserted AS (
      INSERT INTO bookings (event_id, user_id) SELECT ${eventId}, user_id FROM promoted ORDER BY id
      RETURNING id, event_id, user_id, created_at
    ), outboxed AS (${insertCreatedEvents(sql`FROM inserted b ORDER BY b.id`, sql`${correlationId}`, 'waitlist')})
    SELECT id, event_id, user_id, created_at FROM inserted ORDER BY id`);
  return inserted.rows.map(toBookingView);
}
