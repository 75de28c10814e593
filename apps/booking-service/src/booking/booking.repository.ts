import { bookings, type DatabaseConnection } from '@booking/database';
import type { BookingView, ListBookingsQuery, ReserveBookingCommand } from '@booking/shared';
import { Inject, Injectable } from '@nestjs/common';
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import { PgErrorCode, postgresErrorCode } from '../common/postgres-errors.js';
import { DATABASE } from '../database/database.module.js';
import { rejectionFor, type Rejection } from './reservation.js';

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

interface BookingViewRow {
  id: number;
  event_id: number;
  user_id: string;
  created_at: Date;
}

const toBookingView = (row: BookingViewRow): BookingView => ({
  id: row.id,
  event_id: row.event_id,
  user_id: row.user_id,
  created_at: new Date(row.created_at).toISOString(),
});
