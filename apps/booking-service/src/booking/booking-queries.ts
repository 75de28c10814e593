import { bookings, type ReplicaReads } from '@booking/database';
import { BookingEventType, type BookingHistoryView, type BookingView, type ListBookingsQuery } from '@booking/shared';
import { REPLICA_READS } from '@booking/service-kit';
import { Inject, Injectable } from '@nestjs/common';
import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { toBookingEvent, type OutboxEventRow } from '../outbox/outbox-events.js';

const MAX_LIST_SIZE = 1000;

/**
 * The bookings' read-only SQL: plain reads, with no rule to apply, which a
 * read replica may answer (`ReplicaReads`: never older than the caller's own writes).
 */
@Injectable()
export class BookingQueries {
  constructor(@Inject(REPLICA_READS) private readonly reads: ReplicaReads) {}

  /** The booking's events from the outbox (kept after publishing as the audit trail), oldest first. */
  async history(bookingId: number): Promise<BookingHistoryView | undefined> {
    const result = await this.reads.read(({ db }) =>
      db.execute<OutboxEventRow & Record<string, unknown>>(sql`
        SELECT id, type, occurred_at, correlation_id, data FROM outbox
        WHERE booking_id = ${bookingId} ORDER BY position`),
    );
    if (result.rows.length === 0) return undefined;
    const events = result.rows.map(toBookingEvent);
    const cancelled = events.some((event) => event.type === BookingEventType.cancelled);
    return { booking_id: bookingId, status: cancelled ? 'cancelled' : 'active', events };
  }

  async findById(id: number): Promise<BookingView | undefined> {
    const [row] = await this.reads.read(({ db }) => db.select().from(bookings).where(eq(bookings.id, id)));
    return row && toBookingView({ id: row.id, event_id: row.eventId, user_id: row.userId, created_at: row.createdAt });
  }

  async list(query: ListBookingsQuery): Promise<BookingView[]> {
    const filters: SQL[] = [];
    if (query.user_id !== undefined) filters.push(eq(bookings.userId, query.user_id));
    if (query.event_id !== undefined) filters.push(eq(bookings.eventId, query.event_id));
    if (query.after_id !== undefined) filters.push(gt(bookings.id, query.after_id));
    const rows = await this.reads.read(({ db }) =>
      db
        .select()
        .from(bookings)
        .where(and(...filters))
        .orderBy(asc(bookings.id))
        .limit(query.limit ?? MAX_LIST_SIZE),
    );
    return rows.map((row) =>
      toBookingView({ id: row.id, event_id: row.eventId, user_id: row.userId, created_at: row.createdAt }),
    );
  }
}

export interface BookingViewRow extends Record<string, unknown> {
  id: number;
  event_id: number;
  user_id: string;
  created_at: Date;
}

export const toBookingView = (row: BookingViewRow): BookingView => ({
  id: row.id,
  event_id: row.event_id,
  user_id: row.user_id,
  created_at: new Date(row.created_at).toISOString(),
});
