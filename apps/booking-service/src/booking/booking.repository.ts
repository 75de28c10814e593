import { bookings, type DatabaseConnection } from '@booking/database';
import type { BookingView, ListBookingsQuery, ReserveBookingCommand } from '@booking/shared';
import { Inject, Injectable } from '@nestjs/common';
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import { PgErrorCode, postgresErrorCode } from '../common/postgres-errors.js';
import { DATABASE } from '../database/database.module.js';
import { allocateSeats, bookingKey, rejectionFor, type Rejection } from './reservation.js';

export type ReserveResult = { booking: BookingView } | { rejection: Rejection };

interface ReserveRow extends Record<string, unknown> {
  id: number | null;
  event_id: number | null;
  user_id: string | null;
  created_at: Date | null;
  event_exists: boolean;
  already_booked: boolean;
  seat_available: boolean;
}

const MAX_LIST_SIZE = 1000;

@Injectable()
export class BookingRepository {
  constructor(@Inject(DATABASE) private readonly database: DatabaseConnection) {}

  /**
   * One statement, one round trip, atomic on its own. The insert only runs when
   * the event has a seat left in this statement's snapshot; the seat-counter
   * trigger then re-checks capacity under the event's row lock (the CHECK fails
   * past capacity), and ON CONFLICT skips a second booking of the same user. When
   * nothing was inserted, the same statement reports what it saw, from which
   * `rejectionFor` decides why.
   */
  async reserve(command: ReserveBookingCommand): Promise<ReserveResult> {
    try {
      const result = await this.database.db.execute<ReserveRow>(sql`
        WITH inserted AS (
          INSERT INTO bookings (event_id, user_id)
          SELECT e.id, ${command.user_id} FROM events e
          WHERE e.id = ${command.event_id} AND e.booked_seats < e.total_seats
          ON CONFLICT (event_id, user_id) DO NOTHING
          RETURNING id, event_id, user_id, created_at
        )
        SELECT i.id, i.event_id, i.user_id, i.created_at,
               EXISTS (SELECT 1 FROM events WHERE id = ${command.event_id}) AS event_exists,
               EXISTS (SELECT 1 FROM bookings WHERE event_id = ${command.event_id} AND user_id = ${command.user_id}) AS already_booked,
               EXISTS (SELECT 1 FROM events WHERE id = ${command.event_id} AND booked_seats < total_seats) AS seat_available
        FROM (SELECT 1) AS one LEFT JOIN inserted i ON true`);
      const row = result.rows[0]!;
      if (row.id !== null) return { booking: toBookingView(row as BookingViewRow) };
      return {
        rejection: rejectionFor({
          eventExists: row.event_exists,
          alreadyBooked: row.already_booked,
          seatAvailable: row.seat_available,
        }),
      };
    } catch (error) {
      const rejection = rejectionForConstraint(postgresErrorCode(error));
      if (rejection) return { rejection };
      throw error;
    }
  }

  /**
   * Many reservations in one short transaction: lock the events involved (in id
   * order, so concurrent batches cannot deadlock), read seats left and existing
   * bookings (a fresh snapshot after the locks, so nothing committed is missed),
   * decide with `allocateSeats`, insert the winners in one statement, commit
   * once. The constraints still guard the insert: if any fires, the batch is
   * rolled back and its requests are retried one by one with `reserve`.
   */
  async reserveMany(commands: readonly ReserveBookingCommand[]): Promise<ReserveResult[]> {
    try {
      return await this.database.db.transaction(async (tx) => {
        const eventIds = [...new Set(commands.map((c) => c.event_id))].sort((a, b) => a - b);
        const locked = await tx.execute<{ id: number; seats_left: number }>(sql`
          SELECT id, total_seats - booked_seats AS seats_left FROM events
          WHERE id = ANY(${toIntArray(eventIds)}) ORDER BY id FOR UPDATE`);
        const existing = await tx.execute<{ event_id: number; user_id: string }>(sql`
          SELECT b.event_id, b.user_id FROM bookings b
          JOIN unnest(${toIntArray(commands.map((c) => c.event_id))}, ${toTextArray(commands.map((c) => c.user_id))})
            AS r(event_id, user_id) ON b.event_id = r.event_id AND b.user_id = r.user_id`);
        const allocations = allocateSeats(
          commands,
          new Map(locked.rows.map((row) => [row.id, row.seats_left])),
          new Set(existing.rows.map((row) => bookingKey(row.event_id, row.user_id))),
        );
        const winners = commands.filter((_, i) => allocations[i]!.kind === 'book');
        const inserted = winners.length
          ? await tx.execute<BookingViewRow>(sql`
              INSERT INTO bookings (event_id, user_id)
              SELECT * FROM unnest(${toIntArray(winners.map((c) => c.event_id))}, ${toTextArray(winners.map((c) => c.user_id))})
              RETURNING id, event_id, user_id, created_at`)
          : { rows: [] };
        const byKey = new Map(inserted.rows.map((row) => [bookingKey(row.event_id, row.user_id), toBookingView(row)]));
        return commands.map((command, i): ReserveResult => {
          const allocation = allocations[i]!;
          if (allocation.kind === 'reject') return { rejection: allocation.rejection };
          return { booking: byKey.get(bookingKey(command.event_id, command.user_id))! };
        });
      });
    } catch (error) {
      if (
        !rejectionForConstraint(postgresErrorCode(error)) &&
        postgresErrorCode(error) !== PgErrorCode.DeadlockDetected
      ) {
        throw error;
      }
      const results: ReserveResult[] = [];
      for (const command of commands) results.push(await this.reserve(command));
      return results;
    }
  }

  async findById(id: number): Promise<BookingView | undefined> {
    const [row] = await this.database.db.select().from(bookings).where(eq(bookings.id, id));
    return row && toBookingView({ id: row.id, event_id: row.eventId, user_id: row.userId, created_at: row.createdAt });
  }

  async list(query: ListBookingsQuery): Promise<BookingView[]> {
    const filters: SQL[] = [];
    if (query.user_id !== undefined) filters.push(eq(bookings.userId, query.user_id));
    if (query.event_id !== undefined) filters.push(eq(bookings.eventId, query.event_id));
    const rows = await this.database.db
      .select()
      .from(bookings)
      .where(and(...filters))
      .orderBy(asc(bookings.id))
      .limit(MAX_LIST_SIZE);
    return rows.map((row) =>
      toBookingView({ id: row.id, event_id: row.eventId, user_id: row.userId, created_at: row.createdAt }),
    );
  }
}

/** Races the snapshot check lost are caught by the constraints themselves. */
function rejectionForConstraint(code: string | undefined): Rejection | undefined {
  switch (code) {
    case PgErrorCode.CheckViolation:
      return 'sold_out';
    case PgErrorCode.UniqueViolation:
      return 'already_booked';
    case PgErrorCode.ForeignKeyViolation:
      return 'event_not_found';
    default:
      return undefined;
  }
}

interface BookingViewRow extends Record<string, unknown> {
  id: number;
  event_id: number;
  user_id: string;
  created_at: Date;
}

// One array parameter each (pg encodes JS arrays), not one parameter per element.
const toIntArray = (values: readonly number[]) => sql`${sql.param(values)}::int[]`;
const toTextArray = (values: readonly string[]) => sql`${sql.param(values)}::varchar[]`;

const toBookingView = (row: BookingViewRow): BookingView => ({
  id: row.id,
  event_id: row.event_id,
  user_id: row.user_id,
  created_at: new Date(row.created_at).toISOString(),
});
