import type { DatabaseConnection } from '@booking/database';
import type { WaitlistCommand, WaitlistEntryView } from '@booking/shared';
import { DATABASE } from '@booking/service-kit';
import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'drizzle-orm';
import { startedBy, TRANSACTION_IDLE_LIMIT_MS } from '../common/command-deadline.js';
import { PgErrorCode, postgresErrorCode } from '../common/postgres-errors.js';
import { ALWAYS_OPEN } from '../booking/sales-window.js';
import { salesColumns, toEventSales, type SalesColumns } from '../booking/sales-columns.js';
import { joinRefusal, type JoinRefusal } from '../booking/waitlist-rules.js';

interface EntryRow extends Record<string, unknown> {
  event_id: number;
  user_id: string;
  position: number;
  joined_at: Date;
}

const toEntryView = (row: EntryRow): WaitlistEntryView => ({
  event_id: row.event_id,
  user_id: row.user_id,
  position: row.position,
  joined_at: new Date(row.joined_at).toISOString(),
});

/** A user's position: the places of the event's line up to and including theirs. */
const positionOf = (entry: string) =>
  sql.raw(
    `(SELECT count(*)::int FROM waitlist ahead WHERE ahead.event_id = ${entry}.event_id AND ahead.id <= ${entry}.id)`,
  );

/**
 * The waitlist's SQL: joining and leaving under the event's row lock (the
 * lock the seat-counter trigger and an organiser's change take), so they
 * serialise with every seat freed and every booking of the event; whether a
 * user may join is decided by `joinRefusal`. Seats are given to the line by
 * `promoteFromWaitlist`, in the transactions that free them.
 */
@Injectable()
export class WaitlistRepository {
  constructor(@Inject(DATABASE) private readonly database: DatabaseConnection) {}

  /**
   * One short transaction: lock the event's row, then (a fresh snapshot, so
   * a booking or a seat freed while this waited for the lock is seen) read the
   * user's booking and place, decide, insert. The unique constraint guards a
   * second place of the user; should it fire (a writer that took no lock), the
   * join is decided again and finds the place.
   */
  async join(
    command: WaitlistCommand,
    startBy: number,
  ): Promise<{ entry: WaitlistEntryView } | { refused: JoinRefusal }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.joinOnce(command, startBy);
      } catch (error) {
        if (attempt >= 2 || postgresErrorCode(error) !== PgErrorCode.UniqueViolation) throw error;
      }
    }
  }

  private joinOnce(command: WaitlistCommand, startBy: number) {
    return this.database.db.transaction(
      async (tx): Promise<{ entry: WaitlistEntryView } | { refused: JoinRefusal }> => {
        await tx.execute(sql.raw(`SET LOCAL idle_in_transaction_session_timeout = ${TRANSACTION_IDLE_LIMIT_MS}`));
        const locked = await tx.execute<{ seats_left: number } & SalesColumns>(sql`
        SELECT total_seats - booked_seats AS seats_left, ${salesColumns(sql`events`)}
        FROM events WHERE id = ${command.event_id} FOR NO KEY UPDATE`);
        const event = locked.rows[0];
        const user = await tx.execute<{ already_booked: boolean; position: number | null }>(sql`
        SELECT EXISTS (SELECT 1 FROM bookings WHERE event_id = ${command.event_id} AND user_id = ${command.user_id}) AS already_booked,
               (SELECT ${positionOf('w')} FROM waitlist w WHERE w.event_id = ${command.event_id} AND w.user_id = ${command.user_id}) AS position`);
        const { already_booked: alreadyBooked, position } = user.rows[0]!;
        const refused = joinRefusal({
          eventExists: event !== undefined,
          alreadyBooked,
          position,
          seatsLeft: event?.seats_left ?? 0,
          sales: event ? toEventSales(event) : ALWAYS_OPEN,
        });
        if (refused) return { refused };
        // Last in line: one more than the places before it (all visible now, as every join holds the lock).
        const inserted = await tx.execute<EntryRow>(sql`
        WITH inserted AS (
          INSERT INTO waitlist (event_id, user_id) SELECT ${command.event_id}, ${command.user_id} WHERE ${startedBy(startBy)}
          RETURNING event_id, user_id, joined_at
        )
        SELECT i.*, 1 + (SELECT count(*)::int FROM waitlist WHERE event_id = ${command.event_id}) AS position FROM inserted i`);
        return { entry: toEntryView(inserted.rows[0]!) };
      },
    );
  }

  /** The user's place in the event's line; undefined when they have none. */
  async position(command: WaitlistCommand): Promise<WaitlistEntryView | undefined> {
    const { rows } = await this.database.db.execute<EntryRow>(sql`
      SELECT w.event_id, w.user_id, w.joined_at, ${positionOf('w')} AS position
      FROM waitlist w WHERE w.event_id = ${command.event_id} AND w.user_id = ${command.user_id}`);
    return rows[0] && toEntryView(rows[0]);
  }

  /**
   * Deletes the user's place, under the event's row lock: a promotion in
   * progress has either given them the seat (nothing left to delete) or not
   * begun, so nobody is booked after leaving. False when they had no place.
   */
  async leave(command: WaitlistCommand, startBy: number): Promise<boolean> {
    const { rows } = await this.database.db.execute(sql`
      WITH locked AS (SELECT id FROM events WHERE id = ${command.event_id} FOR NO KEY UPDATE)
      DELETE FROM waitlist w USING locked
      WHERE w.event_id = locked.id AND w.user_id = ${command.user_id} AND ${startedBy(startBy)}
      RETURNING w.id`);
    return rows.length > 0;
  }
}
