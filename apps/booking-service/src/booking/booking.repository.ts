import type { DatabaseConnection } from '@booking/database';
import {
  BookingEventType,
  type BookingCancelledData,
  type BookingView,
  type CancelledBookingView,
  type ReserveBookingCommand,
} from '@booking/shared';
import { DATABASE } from '@booking/service-kit';
import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'drizzle-orm';
import { startedBy, TRANSACTION_IDLE_LIMIT_MS } from '../common/command-deadline.js';
import { PgErrorCode, postgresErrorCode, retryWhenOvertaken } from '../common/postgres-errors.js';
import {
  insertCancelledEvents,
  insertCreatedEvents,
  insertFailedEvents,
  type FailedEvent,
} from '../outbox/outbox-events.js';
import { batchFacts, bookedAmong, toBatchFacts, toIntArray, toTextArray, type FactRow } from './batch-facts.js';
import { bookingKey, type RejectionFacts, type ViolatedRule } from './reservation-rules.js';
import { LOST_RACE, type BatchFacts, type LostRace, type ReservationStore } from './reservation-store.js';
import { toBookingView, type BookingViewRow } from './booking-queries.js';
import { salesColumns, toEventSales, type SalesColumns } from './sales-columns.js';
import { promoteFromWaitlist } from './waitlist-promotion.js';

interface ReserveRow extends SalesColumns {
  id: number | null;
  event_id: number | null;
  user_id: string | null;
  created_at: Date | null;
  event_exists: boolean;
  already_booked: boolean;
  seat_available: boolean;
}

/** The bookings' SQL; what to write when is decided by `Reservations`. */
@Injectable()
export class BookingRepository implements ReservationStore {
  constructor(@Inject(DATABASE) private readonly database: DatabaseConnection) {}

  /**
   * One statement, one round trip, atomic on its own. The insert only runs when
   * the event is on sale and has a seat left in this statement's snapshot; the
   * seat-counter trigger then re-checks both under the event's row lock (the
   * CHECK fails past capacity; a window an organiser changed meanwhile fails
   * with BK002, and the statement is run again on a fresh snapshot), and ON
   * CONFLICT skips a second booking of the same user. When nothing was
   * inserted, the same statement reports what it saw. The `booking.created`
   * outbox row is one more CTE of the same statement, so the booking and its
   * event commit together or not at all.
   */
  async reserveOne(
    command: ReserveBookingCommand,
    correlationId: string,
    startBy: number,
  ): Promise<{ booking: BookingView } | { refused: RejectionFacts }> {
    try {
      const result = await retryWhenOvertaken(() =>
        this.database.db.execute<ReserveRow>(sql`
        WITH inserted AS (
          INSERT INTO bookings (event_id, user_id)
          SELECT e.id, ${command.user_id} FROM events e
          WHERE e.id = ${command.event_id} AND e.booked_seats < e.total_seats
            AND event_sales_state(e.sales_open_at, e.sales_close_at, e.starts_at, now()) = 'open'
            AND ${startedBy(startBy)}
          ON CONFLICT (event_id, user_id) DO NOTHING
          RETURNING id, event_id, user_id, created_at
        ), outboxed AS (${insertCreatedEvents(sql`FROM inserted b`, sql`${correlationId}`)})
        SELECT i.id, i.event_id, i.user_id, i.created_at,
               e.id IS NOT NULL AS event_exists,
               EXISTS (SELECT 1 FROM bookings WHERE event_id = ${command.event_id} AND user_id = ${command.user_id}) AS already_booked,
               COALESCE(e.booked_seats < e.total_seats, false) AS seat_available,
               ${salesColumns(sql`e`)}
        FROM (SELECT 1) AS one LEFT JOIN inserted i ON true LEFT JOIN events e ON e.id = ${command.event_id}`),
      );
      const row = result.rows[0]!;
      if (row.id !== null) return { booking: toBookingView(row as unknown as BookingViewRow) };
      return {
        refused: {
          eventExists: row.event_exists,
          alreadyBooked: row.already_booked,
          seatAvailable: row.seat_available,
          sales: toEventSales(row),
        },
      };
    } catch (error) {
      // Races the snapshot check lost are caught by the constraints themselves.
      const violated = violatedRule(error);
      if (violated) return { refused: { violated } };
      throw error;
    }
  }

  async readBatchFacts(commands: readonly ReserveBookingCommand[], eventIds: readonly number[]): Promise<BatchFacts> {
    return toBatchFacts((await this.database.db.execute<FactRow>(batchFacts(commands, eventIds))).rows);
  }

  /**
   * The read and the refusals' write in one statement: the `booking.failed`
   * rows are inserted only if the statement's snapshot shows every event sold
   * out and none of the batch's users booked. Otherwise nothing is written,
   * and the caller gets the facts the statement read.
   */
  async writeFailuresIfSoldOut(
    commands: readonly ReserveBookingCommand[],
    eventIds: readonly number[],
    failures: readonly FailedEvent[],
  ): Promise<{ written: true } | { written: false; facts: BatchFacts }> {
    const result = await this.database.db.execute<FactRow & { sold_out: boolean }>(sql`
      WITH facts AS (${batchFacts(commands, eventIds)}),
      sold_out AS (
        SELECT count(*) FILTER (WHERE user_id IS NULL AND seats_left <= 0 AND sales_state = 'open') = ${eventIds.length}
               AND count(*) FILTER (WHERE user_id IS NOT NULL) = 0 AS holds
        FROM facts
      ), failed_events AS (${insertFailedEvents(failures, sql`(SELECT holds FROM sold_out)`)})
      SELECT f.*, s.holds AS sold_out FROM sold_out s LEFT JOIN facts f ON true`);
    if (result.rows[0]!.sold_out) return { written: true };
    return { written: false, facts: toBatchFacts(result.rows) };
  }

  async writeBatch(
    winners: readonly ReserveBookingCommand[],
    winnerCorrelationIds: readonly string[],
    failures: readonly FailedEvent[],
    startBy: number,
  ): Promise<BookingView[] | LostRace> {
    try {
      return await this.insertBatch(this.database.db, winners, winnerCorrelationIds, failures, startBy);
    } catch (error) {
      if (lostRace(error)) return LOST_RACE;
      throw error;
    }
  }

  /**
   * The batch in one short transaction: lock the events involved (in id order,
   * with the seat-counter trigger's own lock, so concurrent batches and
   * statements cannot deadlock), read seats left, sales windows and existing
   * bookings (a fresh snapshot after the locks, at the transaction's time, the
   * trigger's too), decide, write, commit once.
   */
  async writeBatchLocked(
    commands: readonly ReserveBookingCommand[],
    eventIds: readonly number[],
    decide: Parameters<ReservationStore['writeBatchLocked']>[2],
    startBy: number,
  ): Promise<BookingView[] | LostRace> {
    try {
      return await this.database.db.transaction(async (tx) => {
        // The write below starts before `startBy`; its COMMIT must not arrive much later either.
        await tx.execute(sql.raw(`SET LOCAL idle_in_transaction_session_timeout = ${TRANSACTION_IDLE_LIMIT_MS}`));
        const locked = await tx.execute<{ id: number; seats_left: number } & SalesColumns>(sql`
          SELECT id, total_seats - booked_seats AS seats_left, ${salesColumns(sql`events`)} FROM events
          WHERE id = ANY(${toIntArray(eventIds)}) ORDER BY id FOR NO KEY UPDATE`);
        const existing = await tx.execute<{ event_id: number; user_id: string }>(bookedAmong(commands));
        const { winners, winnerCorrelationIds, failures } = decide({
          seatsLeft: new Map(locked.rows.map((row) => [row.id, row.seats_left])),
          booked: new Set(existing.rows.map((row) => bookingKey(row.event_id, row.user_id))),
          sales: new Map(locked.rows.map((row) => [row.id, toEventSales(row)])),
        });
        return this.insertBatch(tx, winners, winnerCorrelationIds, failures, startBy);
      });
    } catch (error) {
      if (lostRace(error)) return LOST_RACE;
      throw error;
    }
  }

  /** Inserts the winners, their `booking.created` rows and `failures`' rows in one statement. */
  private async insertBatch(
    executor: Pick<DatabaseConnection['db'], 'execute'>,
    winners: readonly ReserveBookingCommand[],
    winnerCorrelationIds: readonly string[],
    failures: readonly FailedEvent[],
    startBy: number,
  ): Promise<BookingView[]> {
    const inserted = await executor.execute<BookingViewRow>(sql`
      WITH requested AS (
        SELECT * FROM unnest(${toIntArray(winners.map((w) => w.event_id))},
                             ${toTextArray(winners.map((w) => w.user_id))},
                             ${toTextArray(winnerCorrelationIds)})
          AS r(event_id, user_id, correlation_id)
      ), inserted AS (
        INSERT INTO bookings (event_id, user_id) SELECT event_id, user_id FROM requested WHERE ${startedBy(startBy)}
        RETURNING id, event_id, user_id, created_at
      ), created_events AS (${insertCreatedEvents(
        sql`FROM inserted b JOIN requested r ON r.event_id = b.event_id AND r.user_id = b.user_id`,
        sql`r.correlation_id`,
      )}), failed_events AS (${insertFailedEvents(failures)})
      SELECT id, event_id, user_id, created_at FROM inserted`);
    return inserted.rows.map(toBookingView);
  }

  /** `booking.failed` rows on their own (a refusal changes no booking to be atomic with). */
  async writeFailures(failures: readonly FailedEvent[]): Promise<void> {
    await this.database.db.execute(insertFailedEvents(failures));
  }

  /**
   * One short transaction: deleting the row gives the seat back (the
   * seat-counter trigger, which locks the event's row until the commit), with
   * its `booking.cancelled` outbox row as a CTE of the same statement; then the
   * seat goes to the first in the event's waitlist, if anyone waits
   * (`promoteFromWaitlist`), before the commit makes it visible to anyone
   * else. Two concurrent cancels serialise on the row lock; the second deletes
   * nothing and gets undefined (not found). Nothing is cancelled once
   * `startBy` (epoch ms) has passed.
   */
  async cancel(id: number, correlationId: string, startBy: number): Promise<CancelledBookingView | undefined> {
    return retryWhenOvertaken(() =>
      this.database.db.transaction(async (tx) => {
        await tx.execute(sql.raw(`SET LOCAL idle_in_transaction_session_timeout = ${TRANSACTION_IDLE_LIMIT_MS}`));
        const result = await tx.execute<BookingViewRow & { cancelled_at: Date; [column: string]: unknown }>(sql`
          WITH deleted AS (
            DELETE FROM bookings WHERE id = ${id} AND ${startedBy(startBy)} RETURNING id, event_id, user_id, created_at
          ), outboxed AS (${insertCancelledEvents(sql`FROM deleted b`, sql`${correlationId}`)} RETURNING occurred_at)
          SELECT d.id, d.event_id, d.user_id, d.created_at, o.occurred_at AS cancelled_at
          FROM deleted d CROSS JOIN outboxed o`);
        const row = result.rows[0];
        if (!row) return undefined;
        await promoteFromWaitlist(tx, row.event_id, correlationId);
        return { ...toBookingView(row), cancelled_at: new Date(row.cancelled_at).toISOString() };
      }),
    );
  }

  /**
   * The user's booking for the event if the request `correlationId` made it:
   * a retry of a request whose outcome its caller never heard gets that
   * request's booking, rather than "already booked" for the caller's own seat.
   */
  async bookingMadeBy(command: ReserveBookingCommand, correlationId: string): Promise<BookingView | undefined> {
    const result = await this.database.db.execute<BookingViewRow>(sql`
      SELECT b.id, b.event_id, b.user_id, b.created_at FROM bookings b
      JOIN outbox o ON o.booking_id = b.id AND o.type = ${BookingEventType.created} AND o.correlation_id = ${correlationId}
      WHERE b.event_id = ${command.event_id} AND b.user_id = ${command.user_id}`);
    const row = result.rows[0];
    return row && toBookingView(row);
  }

  /** The cancellation of booking `id` if the request `correlationId` made it (a retry, as above). */
  async cancellationBy(id: number, correlationId: string): Promise<CancelledBookingView | undefined> {
    const result = await this.database.db.execute<{ data: BookingCancelledData; created_at: string | null }>(sql`
      SELECT c.data, created.data->>'created_at' AS created_at FROM outbox c
      LEFT JOIN outbox created ON created.booking_id = c.booking_id AND created.type = ${BookingEventType.created}
      WHERE c.booking_id = ${id} AND c.type = ${BookingEventType.cancelled} AND c.correlation_id = ${correlationId}`);
    const row = result.rows[0];
    if (!row?.created_at) return undefined;
    const { booking_id, event_id, user_id, cancelled_at } = row.data;
    return { id: booking_id, event_id, user_id, created_at: row.created_at, cancelled_at };
  }
}

/** The rule a violated constraint enforces; undefined for any other error. */
function violatedRule(error: unknown): ViolatedRule | undefined {
  switch (postgresErrorCode(error)) {
    case PgErrorCode.CheckViolation:
      return 'seat_capacity';
    case PgErrorCode.UniqueViolation:
      return 'one_booking_per_user';
    case PgErrorCode.ForeignKeyViolation:
      return 'event_exists';
    default:
      return undefined;
  }
}

/** A constraint or the sales window's trigger that fired, or a deadlock: a concurrent writer got there first. */
const lostRace = (error: unknown): boolean =>
  violatedRule(error) !== undefined ||
  postgresErrorCode(error) === PgErrorCode.DeadlockDetected ||
  postgresErrorCode(error) === PgErrorCode.NotOnSale;
