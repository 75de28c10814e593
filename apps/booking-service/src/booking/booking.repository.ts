import { bookings, type DatabaseConnection } from '@booking/database';
import {
  BookingEventType,
  type BookingCancelledData,
  type BookingEvent,
  type BookingFailedData,
  type BookingHistoryView,
  type BookingView,
  type CancelledBookingView,
  type ListBookingsQuery,
  type ReserveBookingCommand,
} from '@booking/shared';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import { startedBy, TRANSACTION_IDLE_LIMIT_MS } from '../common/command-deadline.js';
import { PgErrorCode, postgresErrorCode, retryOnDeadlock } from '../common/postgres-errors.js';
import { DATABASE } from '../database/database.module.js';
import {
  allocateSeats,
  allSoldOut,
  bookingKey,
  holdsWithoutLocks,
  rejectionError,
  rejectionFor,
  seatsLeftAfter,
  writableUnread,
  type Allocation,
  type Rejection,
} from './reservation.js';

export type ReserveResult = { booking: BookingView } | { rejection: Rejection };
/** One reservation's outcome in a batch whose requests were, in the end, written one by one. */
export type ReserveOutcome = ReserveResult | { error: unknown };

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
const NO_BOOKINGS: ReadonlySet<string> = new Set();
const MAX_REMEMBERED_EVENTS = 10_000;

/** A timestamp as the API writes it (UTC, milliseconds, trailing Z), in SQL, for event payloads. */
const isoUtc = (column: SQL) => sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

@Injectable()
export class BookingRepository {
  private readonly logger = new Logger(BookingRepository.name);
  /**
   * Seats left per event as this replica last saw them, less what it has
   * booked since. Only ever a guess: other replicas book and cancel too, so
   * it decides whether a batch is tried before reading, never an answer.
   */
  private readonly lastSeatsLeft = new Map<number, number>();

  constructor(@Inject(DATABASE) private readonly database: DatabaseConnection) {}

  /**
   * One statement, one round trip, atomic on its own. The insert only runs when
   * the event has a seat left in this statement's snapshot; the seat-counter
   * trigger then re-checks capacity under the event's row lock (the CHECK fails
   * past capacity), and ON CONFLICT skips a second booking of the same user. When
   * nothing was inserted, the same statement reports what it saw, from which
   * `rejectionFor` decides why. The `booking.created` outbox row is one more CTE
   * of the same statement, so the booking and its event commit together or not at all.
   * Nothing is booked once `startBy` (epoch ms) has passed.
   */
  async reserve(command: ReserveBookingCommand, correlationId: string, startBy: number): Promise<ReserveResult> {
    const result = await this.tryReserve(command, correlationId, startBy);
    if ('rejection' in result) await this.recordFailure(command, result.rejection, correlationId);
    return result;
  }

  private async tryReserve(
    command: ReserveBookingCommand,
    correlationId: string,
    startBy: number,
  ): Promise<ReserveResult> {
    try {
      const result = await retryOnDeadlock(() =>
        this.database.db.execute<ReserveRow>(sql`
        WITH inserted AS (
          INSERT INTO bookings (event_id, user_id)
          SELECT e.id, ${command.user_id} FROM events e
          WHERE e.id = ${command.event_id} AND e.booked_seats < e.total_seats AND ${startedBy(startBy)}
          ON CONFLICT (event_id, user_id) DO NOTHING
          RETURNING id, event_id, user_id, created_at
        ), outboxed AS (
          INSERT INTO outbox (type, booking_id, event_id, correlation_id, data)
          SELECT ${BookingEventType.created}, i.id, i.event_id, ${correlationId},
                 jsonb_build_object('booking_id', i.id, 'event_id', i.event_id, 'user_id', i.user_id,
                                    'created_at', ${isoUtc(sql`i.created_at`)})
          FROM inserted i
        )
        SELECT i.id, i.event_id, i.user_id, i.created_at,
               EXISTS (SELECT 1 FROM events WHERE id = ${command.event_id}) AS event_exists,
               EXISTS (SELECT 1 FROM bookings WHERE event_id = ${command.event_id} AND user_id = ${command.user_id}) AS already_booked,
               EXISTS (SELECT 1 FROM events WHERE id = ${command.event_id} AND booked_seats < total_seats) AS seat_available
        FROM (SELECT 1) AS one LEFT JOIN inserted i ON true`),
      );
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
   * Many reservations, decided together in plain code (`allocateSeats`) and
   * written by one statement: the winners' bookings, a `booking.created`
   * outbox row per winner and a `booking.failed` row per rejection, all or
   * nothing. `correlationIds[i]` belongs to `commands[i]`.
   *
   * A batch that books in full on the seats this replica last saw is written
   * at once, without a read (`writableUnread`): one statement, whose
   * constraints re-check every booking. A batch it would refuse in full for
   * want of seats is read and written in one statement, if that statement's
   * snapshot agrees (`writeRefusalsIfSoldOut`). Any other batch, or one a
   * constraint or that snapshot refused, is decided without locks: one read
   * of seats left and existing bookings, then the write as a statement of its
   * own, which `holdsWithoutLocks` admits only when that read alone justifies
   * its refusals. A batch it does not admit, or whose write a constraint
   * refused because a concurrent writer got there first, is decided again
   * under the events' row locks (`reserveManyLocked`). Nothing is booked once
   * `startBy` (epoch ms) has passed.
   */
  async reserveMany(
    commands: readonly ReserveBookingCommand[],
    correlationIds: readonly string[],
    startBy: number,
  ): Promise<ReserveOutcome[]> {
    const eventIds = distinctEventIds(commands);
    const lastSeen = new Map<number, number>();
    for (const eventId of eventIds) {
      const left = this.lastSeatsLeft.get(eventId);
      if (left !== undefined) lastSeen.set(eventId, left);
    }
    const unread = allocateSeats(commands, lastSeen, NO_BOOKINGS);
    if (writableUnread(unread)) {
      // Taken before the write, so that batches in flight at the same time do not count the same seats.
      this.remember(commands, unread, lastSeen);
      try {
        return await this.writeBatch(this.database.db, commands, correlationIds, unread, startBy);
      } catch (error) {
        if (!isRace(error)) throw error;
      }
    }
    let facts: BatchFacts;
    if (allSoldOut(unread)) {
      const guarded = await this.writeRefusalsIfSoldOut(commands, correlationIds, unread, eventIds);
      if (guarded.written) return commands.map(() => ({ rejection: 'sold_out' }));
      facts = guarded.facts;
    } else {
      facts = toBatchFacts((await this.database.db.execute<FactRow>(batchFacts(commands, eventIds))).rows);
    }
    const { seatsLeft, booked } = facts;
    const allocations = allocateSeats(commands, seatsLeft, booked);
    this.remember(commands, allocations, seatsLeft);
    if (holdsWithoutLocks(commands, allocations, seatsLeft)) {
      try {
        return await this.writeBatch(this.database.db, commands, correlationIds, allocations, startBy);
      } catch (error) {
        if (!isRace(error)) throw error;
      }
    }
    return this.reserveManyLocked(commands, correlationIds, eventIds, startBy);
  }

  /**
   * The read and the refusals' write in one statement, for a batch refused in
   * full on the seats this replica last saw. Its `booking.failed` rows are
   * inserted only if the statement's snapshot shows every event sold out and
   * none of the batch's users booked: the facts those refusals need, as
   * `holdsWithoutLocks` asks of a read. Otherwise nothing is written, and the
   * facts the statement read decide the batch. A flash sale's refusals so
   * take one round trip instead of two.
   */
  private async writeRefusalsIfSoldOut(
    commands: readonly ReserveBookingCommand[],
    correlationIds: readonly string[],
    refusals: readonly Allocation[],
    eventIds: readonly number[],
  ): Promise<{ written: true } | { written: false; facts: BatchFacts }> {
    const result = await this.database.db.execute<FactRow & { sold_out: boolean }>(sql`
      WITH facts AS (${batchFacts(commands, eventIds)}),
      sold_out AS (
        SELECT count(*) FILTER (WHERE user_id IS NULL AND seats_left <= 0) = ${eventIds.length}
               AND count(*) FILTER (WHERE user_id IS NOT NULL) = 0 AS holds
        FROM facts
      ), failed_events AS (
        INSERT INTO outbox (type, event_id, correlation_id, data)
        ${failedEventRows(commands, correlationIds, refusals)} WHERE (SELECT holds FROM sold_out)
      )
      SELECT f.event_id, f.seats_left, f.user_id, s.holds AS sold_out FROM sold_out s LEFT JOIN facts f ON true`);
    if (result.rows[0]!.sold_out) return { written: true };
    return { written: false, facts: toBatchFacts(result.rows) };
  }

  /** Keeps the seats a decided batch leaves its events, given the seats it was decided on. */
  private remember(
    commands: readonly ReserveBookingCommand[],
    allocations: readonly Allocation[],
    seatsLeftBefore: ReadonlyMap<number, number>,
  ): void {
    // A guess may be dropped at any time: past a bound, all are, and the next batches read.
    if (this.lastSeatsLeft.size > MAX_REMEMBERED_EVENTS) this.lastSeatsLeft.clear();
    for (const [eventId, left] of seatsLeftAfter(commands, allocations, seatsLeftBefore)) {
      this.lastSeatsLeft.set(eventId, left);
    }
  }

  /**
   * The batch in one short transaction: lock the events involved (in id order,
   * with the seat-counter trigger's own lock, so concurrent batches and
   * statements cannot deadlock), read seats left and existing
   * bookings (a fresh snapshot after the locks, so nothing committed is
   * missed), decide, write, commit once. The constraints still guard the
   * write: if any fires, the batch is rolled back and its requests are
   * retried one by one with `reserve`, each with its own outcome.
   */
  private async reserveManyLocked(
    commands: readonly ReserveBookingCommand[],
    correlationIds: readonly string[],
    eventIds: readonly number[],
    startBy: number,
  ): Promise<ReserveOutcome[]> {
    try {
      return await this.database.db.transaction(async (tx) => {
        // The write below starts before `startBy`; its COMMIT must not arrive much later either.
        await tx.execute(sql.raw(`SET LOCAL idle_in_transaction_session_timeout = ${TRANSACTION_IDLE_LIMIT_MS}`));
        const locked = await tx.execute<{ id: number; seats_left: number }>(sql`
          SELECT id, total_seats - booked_seats AS seats_left FROM events
          WHERE id = ANY(${toIntArray(eventIds)}) ORDER BY id FOR NO KEY UPDATE`);
        const existing = await tx.execute<{ event_id: number; user_id: string }>(bookedAmong(commands));
        const seatsLeft = new Map(locked.rows.map((row) => [row.id, row.seats_left]));
        const allocations = allocateSeats(
          commands,
          seatsLeft,
          new Set(existing.rows.map((row) => bookingKey(row.event_id, row.user_id))),
        );
        this.remember(commands, allocations, seatsLeft);
        return this.writeBatch(tx, commands, correlationIds, allocations, startBy);
      });
    } catch (error) {
      if (!isRace(error)) throw error;
      const outcomes: ReserveOutcome[] = [];
      for (const [i, command] of commands.entries()) {
        outcomes.push(
          await this.reserve(command, correlationIds[i]!, startBy).catch((failure: unknown) => ({ error: failure })),
        );
      }
      return outcomes;
    }
  }

  /** Inserts the winners and every request's outbox row in one statement; the answers in request order. */
  private async writeBatch(
    executor: Pick<DatabaseConnection['db'], 'execute'>,
    commands: readonly ReserveBookingCommand[],
    correlationIds: readonly string[],
    allocations: readonly Allocation[],
    startBy: number,
  ): Promise<ReserveResult[]> {
    const winners = commands.flatMap((command, i) =>
      allocations[i]!.kind === 'book' ? [{ command, correlationId: correlationIds[i]! }] : [],
    );
    const inserted = await executor.execute<BookingViewRow>(sql`
      WITH requested AS (
        SELECT * FROM unnest(${toIntArray(winners.map((w) => w.command.event_id))},
                             ${toTextArray(winners.map((w) => w.command.user_id))},
                             ${toTextArray(winners.map((w) => w.correlationId))})
          AS r(event_id, user_id, correlation_id)
      ), inserted AS (
        INSERT INTO bookings (event_id, user_id) SELECT event_id, user_id FROM requested WHERE ${startedBy(startBy)}
        RETURNING id, event_id, user_id, created_at
      ), created_events AS (
        INSERT INTO outbox (type, booking_id, event_id, correlation_id, data)
        SELECT ${BookingEventType.created}, i.id, i.event_id, r.correlation_id,
               jsonb_build_object('booking_id', i.id, 'event_id', i.event_id, 'user_id', i.user_id,
                                  'created_at', ${isoUtc(sql`i.created_at`)})
        FROM inserted i JOIN requested r ON r.event_id = i.event_id AND r.user_id = i.user_id
      ), failed_events AS (
        INSERT INTO outbox (type, event_id, correlation_id, data) ${failedEventRows(commands, correlationIds, allocations)}
      )
      SELECT id, event_id, user_id, created_at FROM inserted`);
    const byKey = new Map(inserted.rows.map((row) => [bookingKey(row.event_id, row.user_id), toBookingView(row)]));
    return commands.map((command, i): ReserveResult => {
      const allocation = allocations[i]!;
      if (allocation.kind === 'reject') return { rejection: allocation.rejection };
      return { booking: byKey.get(bookingKey(command.event_id, command.user_id))! };
    });
  }

  /**
   * `booking.failed`: a rejection changes no booking, so there is nothing to be
   * atomic with; the outbox row is written on its own, after the rejection is
   * known, and goes through the same relay (durable once written). If even that
   * write fails, the caller still gets its rejection and the event is lost (logged).
   */
  private async recordFailure(command: ReserveBookingCommand, rejection: Rejection, correlationId: string) {
    const data = failedData(command, rejection);
    try {
      await this.database.db.execute(sql`
        INSERT INTO outbox (type, event_id, correlation_id, data)
        VALUES (${BookingEventType.failed}, ${command.event_id}, ${correlationId}, ${JSON.stringify(data)}::jsonb)`);
    } catch (error) {
      this.logger.warn(`booking.failed event not recorded: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * One statement: deleting the row gives the seat back (the seat-counter
   * trigger), and the `booking.cancelled` outbox row is a CTE of the same
   * statement. Two concurrent cancels serialise on the row lock; the second
   * deletes nothing and gets undefined (not found). Nothing is cancelled once
   * `startBy` (epoch ms) has passed.
   */
  async cancel(id: number, correlationId: string, startBy: number): Promise<CancelledBookingView | undefined> {
    const result = await retryOnDeadlock(() =>
      this.database.db.execute<BookingViewRow & { cancelled_at: Date; [column: string]: unknown }>(sql`
      WITH deleted AS (
        DELETE FROM bookings WHERE id = ${id} AND ${startedBy(startBy)} RETURNING id, event_id, user_id, created_at
      ), outboxed AS (
        INSERT INTO outbox (type, booking_id, event_id, correlation_id, data)
        SELECT ${BookingEventType.cancelled}, d.id, d.event_id, ${correlationId},
               jsonb_build_object('booking_id', d.id, 'event_id', d.event_id, 'user_id', d.user_id,
                                  'cancelled_at', ${isoUtc(sql`now()`)})
        FROM deleted d
        RETURNING occurred_at
      )
      SELECT d.id, d.event_id, d.user_id, d.created_at, o.occurred_at AS cancelled_at
      FROM deleted d CROSS JOIN outboxed o`),
    );
    const row = result.rows[0];
    return row && { ...toBookingView(row), cancelled_at: new Date(row.cancelled_at).toISOString() };
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

  /** The booking's events from the outbox (kept after publishing as the audit trail), oldest first. */
  async history(bookingId: number): Promise<BookingHistoryView | undefined> {
    const result = await this.database.db.execute<{
      id: string;
      type: BookingEvent['type'];
      occurred_at: Date;
      correlation_id: string;
      data: BookingEvent['data'];
    }>(sql`
      SELECT id, type, occurred_at, correlation_id, data FROM outbox
      WHERE booking_id = ${bookingId} ORDER BY position`);
    if (result.rows.length === 0) return undefined;
    const events = result.rows.map(
      (row) =>
        ({
          id: row.id,
          type: row.type,
          occurred_at: new Date(row.occurred_at).toISOString(),
          correlation_id: row.correlation_id,
          data: row.data,
        }) as BookingEvent,
    );
    const cancelled = events.some((event) => event.type === BookingEventType.cancelled);
    return { booking_id: bookingId, status: cancelled ? 'cancelled' : 'active', events };
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

/** A constraint that fired, or a deadlock: a concurrent writer got there first, so decide again more carefully. */
const isRace = (error: unknown): boolean => {
  const code = postgresErrorCode(error);
  return rejectionForConstraint(code) !== undefined || code === PgErrorCode.DeadlockDetected;
};

const distinctEventIds = (commands: readonly ReserveBookingCommand[]): number[] =>
  [...new Set(commands.map((c) => c.event_id))].sort((a, b) => a - b);

/** The requested (event, user) pairs that are already booked. */
const bookedAmong = (commands: readonly ReserveBookingCommand[]) => sql`
  SELECT b.event_id, b.user_id FROM bookings b
  JOIN unnest(${toIntArray(commands.map((c) => c.event_id))}, ${toTextArray(commands.map((c) => c.user_id))})
    AS r(event_id, user_id) ON b.event_id = r.event_id AND b.user_id = r.user_id`;

/** What decides a batch: each event's seats left (one row each), then the requested pairs already booked. */
const batchFacts = (commands: readonly ReserveBookingCommand[], eventIds: readonly number[]) => sql`
  SELECT id AS event_id, total_seats - booked_seats AS seats_left, NULL AS user_id FROM events
  WHERE id = ANY(${toIntArray(eventIds)})
  UNION ALL
  SELECT event_id, NULL, user_id FROM (${bookedAmong(commands)}) AS booked`;

interface FactRow extends Record<string, unknown> {
  /** Null only where a statement joined no fact at all (none of the events exists). */
  event_id: number | null;
  seats_left: number | null;
  user_id: string | null;
}

interface BatchFacts {
  seatsLeft: Map<number, number>;
  booked: Set<string>;
}

function toBatchFacts(rows: readonly FactRow[]): BatchFacts {
  const seatsLeft = new Map<number, number>();
  const booked = new Set<string>();
  for (const { event_id: eventId, seats_left: left, user_id: userId } of rows) {
    if (eventId === null) continue;
    if (userId === null) seatsLeft.set(eventId, left!);
    else booked.add(bookingKey(eventId, userId));
  }
  return { seatsLeft, booked };
}

/** The `booking.failed` rows of a batch's refusals, for `INSERT INTO outbox (type, event_id, correlation_id, data)`. */
function failedEventRows(
  commands: readonly ReserveBookingCommand[],
  correlationIds: readonly string[],
  allocations: readonly Allocation[],
) {
  const failures = commands.flatMap((command, i) => {
    const allocation = allocations[i]!;
    return allocation.kind === 'reject'
      ? [{ command, correlationId: correlationIds[i]!, data: failedData(command, allocation.rejection) }]
      : [];
  });
  return sql`
  SELECT ${BookingEventType.failed}, f.event_id, f.correlation_id, f.data
  FROM unnest(${toIntArray(failures.map((f) => f.command.event_id))},
              ${toTextArray(failures.map((f) => f.correlationId))},
              ${sql.param(failures.map((f) => JSON.stringify(f.data)))}::jsonb[])
    AS f(event_id, correlation_id, data)`;
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

const failedData = (command: ReserveBookingCommand, rejection: Rejection): BookingFailedData => ({
  event_id: command.event_id,
  user_id: command.user_id,
  reason: rejection,
  message: rejectionError(rejection, command).message,
});

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
