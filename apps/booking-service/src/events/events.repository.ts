import { events, type DatabaseConnection, type EventRow } from '@booking/database';
import {
  MAX_LIST_SIZE,
  type CreateEventCommand,
  type EventView,
  type ListEventsQuery,
  type SeatUpdate,
  type UpdateEventCommand,
} from '@booking/shared';
import { Inject, Injectable } from '@nestjs/common';
import { and, asc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { seatsLeft } from '../booking/reservation-rules.js';
import type { SalesWindow } from '../booking/sales-window.js';
import { promoteFromWaitlist } from '../booking/waitlist-promotion.js';
import { lineConflict } from '../booking/waitlist-rules.js';
import { startedBy, TRANSACTION_IDLE_LIMIT_MS } from '../common/command-deadline.js';
import { insertEventUpdatedEvent } from '../outbox/outbox-events.js';
import { DATABASE } from '@booking/service-kit';
import { changedEvent, changesBetween, type EventState } from './event-changes.js';

/** What an organiser's change came to. */
export type UpdateOutcome = { event: EventView } | { notFound: true } | { conflict: string };

@Injectable()
export class EventsRepository {
  /**
   * The read a crowd repeats, built once: drizzle then neither rebuilds its SQL
   * nor PostgreSQL re-parses it on each lookup (a named statement, parsed once
   * per connection), which saves CPU on every lookup (docs/performance.md).
   */
  private readonly eventById;

  constructor(@Inject(DATABASE) private readonly database: DatabaseConnection) {
    this.eventById = database.db
      .select()
      .from(events)
      .where(eq(events.id, sql.placeholder('id')))
      .prepare('event_by_id');
  }

  /** Creates nothing once `startBy` (epoch ms) has passed (see `startedBy`). */
  async create(command: CreateEventCommand, startBy: number): Promise<EventView> {
    const { rows } = await this.database.db.execute<EventSqlRow>(sql`
      INSERT INTO events (name, total_seats, starts_at, venue, description, sales_open_at, sales_close_at)
      SELECT ${command.name}, ${command.total_seats}, ${command.starts_at ?? null}::timestamptz,
             ${command.venue ?? null}, ${command.description ?? null},
             ${command.sales_open_at ?? null}::timestamptz, ${command.sales_close_at ?? null}::timestamptz
      WHERE ${startedBy(startBy)}
      RETURNING *`);
    return toEventView(fromSqlRow(rows[0]!));
  }

  async findById(id: number): Promise<EventView | undefined> {
    const [row] = await this.eventById.execute({ id });
    return row && toEventView(row);
  }

  /** Seats left of the events among `ids` that exist, in one read. */
  async seatsLeft(ids: readonly number[]): Promise<SeatUpdate[]> {
    const rows = await this.database.db
      .select({ id: events.id, totalSeats: events.totalSeats, bookedSeats: events.bookedSeats })
      .from(events)
      .where(inArray(events.id, [...ids]));
    return rows.map((row) => ({ event_id: row.id, available_seats: seatsLeft(row), total_seats: row.totalSeats }));
  }

  /** Events by id after `after_id`, those matching every filter given (see `listEventsSchema`), on the database's clock. */
  async list(query: ListEventsQuery): Promise<EventView[]> {
    const filters: (SQL | undefined)[] = [];
    if (query.after_id !== undefined) filters.push(gt(events.id, query.after_id));
    if (query.upcoming !== undefined) filters.push(holds(query.upcoming, NOT_STARTED));
    if (query.on_sale !== undefined) filters.push(holds(query.on_sale, ON_SALE));
    if (query.sold_out !== undefined) filters.push(holds(query.sold_out, SOLD_OUT));
    const rows = await this.database.db
      .select()
      .from(events)
      .where(and(...filters))
      .orderBy(asc(events.id))
      .limit(query.limit ?? MAX_LIST_SIZE);
    return rows.map(toEventView);
  }

  /**
   * An organiser's change, in one short transaction: the event's row locked
   * (so bookings, whose seat-counter trigger takes the same lock, and other
   * changes wait), the change decided in `changedEvent`, written with its
   * `event.updated` outbox row, committed once; a change to the values the
   * event already has writes nothing. The capacity CHECK still
   * guards the write. Nothing is written once `startBy` (epoch ms) has passed.
   */
  async update(command: UpdateEventCommand, correlationId: string, startBy: number): Promise<UpdateOutcome> {
    return this.database.db.transaction(async (tx) => {
      await tx.execute(sql.raw(`SET LOCAL idle_in_transaction_session_timeout = ${TRANSACTION_IDLE_LIMIT_MS}`));
      const { rows } = await tx.execute<EventSqlRow>(sql`
        SELECT * FROM events WHERE id = ${command.id} FOR NO KEY UPDATE`);
      if (rows.length === 0) return { notFound: true };
      const before = toEventState(fromSqlRow(rows[0]!));
      // Read once the lock is held, not at the transaction's start (`now()`), and rounded up to the
      // millisecond (as times are kept): every booking committed while this change waited for the lock has
      // an earlier created_at, so sales close after every booking made.
      // The line read then too: joins and leaves take the same lock, so it cannot change before the commit.
      const clock = await tx.execute<{ now: string; waiting: number }>(
        sql`SELECT date_trunc('milliseconds', clock_timestamp()) + interval '1 millisecond' AS now,
                   (SELECT count(*)::int FROM waitlist WHERE event_id = ${command.id}) AS waiting`,
      );
      const { now, waiting } = clock.rows[0]!;
      const decided = changedEvent(before, command, new Date(now).toISOString());
      if ('conflict' in decided) return decided;
      const after = decided.next;
      const forLine = lineConflict(command.id, salesWindowOf(after), waiting, Date.parse(now));
      if (forLine) return { conflict: forLine };
      const changes = changesBetween(before, after);
      // Nothing to change (the same change again): nothing written, no event.
      if (Object.keys(changes).length === 0) return { event: toEventView(fromSqlRow(rows[0]!)) };
      const updated = await tx.execute<EventSqlRow>(sql`
        UPDATE events SET name = ${after.name}, total_seats = ${after.total_seats},
               starts_at = ${after.starts_at}::timestamptz, venue = ${after.venue}, description = ${after.description},
               sales_open_at = ${after.sales_open_at}::timestamptz, sales_close_at = ${after.sales_close_at}::timestamptz,
               updated_at = now()
        WHERE id = ${command.id} AND ${startedBy(startBy)}
        RETURNING *`);
      await tx.execute(
        insertEventUpdatedEvent(
          {
            event_id: command.id,
            action: command.kind,
            actor: command.actor,
            changes,
            booked_seats: before.booked_seats,
          },
          correlationId,
        ),
      );
      // Seats added or sales reopened go to the line first, in this transaction.
      const promoted = waiting > 0 ? await promoteFromWaitlist(tx, command.id, correlationId) : [];
      if (promoted.length === 0) return { event: toEventView(fromSqlRow(updated.rows[0]!)) };
      const { rows: latest } = await tx.execute<EventSqlRow>(sql`SELECT * FROM events WHERE id = ${command.id}`);
      return { event: toEventView(fromSqlRow(latest[0]!)) };
    });
  }
}

/** A filter, or its negation. */
const holds = (wanted: boolean, condition: SQL): SQL => (wanted ? condition : sql`NOT (${condition})`);
const NOT_STARTED = sql`(${events.startsAt} IS NULL OR ${events.startsAt} > now())`;
const SOLD_OUT = sql`${events.bookedSeats} >= ${events.totalSeats}`;
const ON_SALE = sql`(event_sales_state(${events.salesOpenAt}, ${events.salesCloseAt}, ${events.startsAt}, now()) = 'open'
  AND ${events.bookedSeats} < ${events.totalSeats})`;

/** An events row as a raw statement returns it: column names, times as PostgreSQL's text (drizzle's parsers). */
interface EventSqlRow extends Record<string, unknown> {
  id: number;
  name: string;
  total_seats: number;
  booked_seats: number;
  starts_at: string | null;
  venue: string | null;
  description: string | null;
  sales_open_at: string | null;
  sales_close_at: string | null;
  created_at: string;
  updated_at: string;
}

const dateOrNull = (text: string | null): Date | null => (text === null ? null : new Date(text));

const fromSqlRow = (row: EventSqlRow): EventRow => ({
  id: row.id,
  name: row.name,
  totalSeats: row.total_seats,
  bookedSeats: row.booked_seats,
  startsAt: dateOrNull(row.starts_at),
  venue: row.venue,
  description: row.description,
  salesOpenAt: dateOrNull(row.sales_open_at),
  salesCloseAt: dateOrNull(row.sales_close_at),
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
});

const epochOrNull = (time: string | null): number | null => (time === null ? null : Date.parse(time));

/** The window `salesStateAt` reads from an event's state: sales close at the earlier of their close and the start. */
const salesWindowOf = (state: EventState): SalesWindow => {
  const ends = [state.sales_close_at, state.starts_at].map(epochOrNull).filter((time) => time !== null);
  return { opensAt: epochOrNull(state.sales_open_at), closesAt: ends.length ? Math.min(...ends) : null };
};

const iso = (time: Date | null): string | null => (time === null ? null : time.toISOString());

const toEventState = (row: EventRow): EventState => ({
  name: row.name,
  total_seats: row.totalSeats,
  booked_seats: row.bookedSeats,
  starts_at: iso(row.startsAt),
  venue: row.venue,
  description: row.description,
  sales_open_at: iso(row.salesOpenAt),
  sales_close_at: iso(row.salesCloseAt),
});

const toEventView = (row: EventRow): EventView => ({
  id: row.id,
  name: row.name,
  total_seats: row.totalSeats,
  booked_seats: row.bookedSeats,
  available_seats: seatsLeft(row),
  starts_at: iso(row.startsAt),
  venue: row.venue,
  description: row.description,
  sales_open_at: iso(row.salesOpenAt),
  sales_close_at: iso(row.salesCloseAt),
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
});
