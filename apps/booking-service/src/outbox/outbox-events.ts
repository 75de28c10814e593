import {
  BookingEventType,
  type BookingEvent,
  type BookingSource,
  type BookingFailedData,
  type EventUpdatedData,
} from '@booking/shared';
import { sql, type SQL } from 'drizzle-orm';

/**
 * The outbox's one writer and one reader of booking events (the contract is
 * `bookingEventSchema` in @booking/shared). Each writer is an `INSERT INTO
 * outbox` to be used as a CTE of the statement that changes the booking, so
 * the change and its event commit together. The created and cancelled events'
 * data are built in SQL from the rows the statement wrote; a test runs them
 * against PostgreSQL and parses the result with the contract's schema.
 */

/** A timestamp as the API writes it (UTC, milliseconds, trailing Z), in SQL. */
const isoUtc = (column: SQL) => sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * `booking.created` for each booking `from` yields as `b` (id, event_id,
 * user_id, created_at), with `correlationId` (a value or a column of `from`);
 * `source` when the booking was not a reservation (a seat given from the waitlist).
 */
export const insertCreatedEvents = (from: SQL, correlationId: SQL, source?: BookingSource) => sql`
  INSERT INTO outbox (type, booking_id, event_id, correlation_id, data)
  SELECT ${BookingEventType.created}, b.id, b.event_id, ${correlationId},
         jsonb_build_object('booking_id', b.id, 'event_id', b.event_id, 'user_id', b.user_id,
                            'created_at', ${isoUtc(sql`b.created_at`)}${source === undefined ? sql`` : sql`, 'source', ${source}::text`})
  ${from}`;

/** `booking.cancelled`, now, for each booking `from` yields as `b` (id, event_id, user_id). */
export const insertCancelledEvents = (from: SQL, correlationId: SQL) => sql`
  INSERT INTO outbox (type, booking_id, event_id, correlation_id, data)
  SELECT ${BookingEventType.cancelled}, b.id, b.event_id, ${correlationId},
         jsonb_build_object('booking_id', b.id, 'event_id', b.event_id, 'user_id', b.user_id,
                            'cancelled_at', ${isoUtc(sql`now()`)})
  ${from}`;

/** A refused reservation's `booking.failed` event, before it is written. */
export interface FailedEvent {
  correlationId: string;
  data: BookingFailedData;
}

/** `booking.failed` for each of `failures` (with no booking to be atomic with), if `onlyIf` holds. */
export const insertFailedEvents = (failures: readonly FailedEvent[], onlyIf: SQL = sql`true`) => sql`
  INSERT INTO outbox (type, event_id, correlation_id, data)
  SELECT ${BookingEventType.failed}, f.event_id, f.correlation_id, f.data
  FROM unnest(${sql.param(failures.map((f) => f.data.event_id))}::int[],
              ${sql.param(failures.map((f) => f.correlationId))}::varchar[],
              ${sql.param(failures.map((f) => JSON.stringify(f.data)))}::jsonb[])
    AS f(event_id, correlation_id, data)
  WHERE ${onlyIf}`;

/** `event.updated`: an organiser's change of an event, written in the transaction that makes it. */
export const insertEventUpdatedEvent = (data: EventUpdatedData, correlationId: string) => sql`
  INSERT INTO outbox (type, event_id, correlation_id, data)
  VALUES (${BookingEventType.eventUpdated}, ${data.event_id}, ${correlationId}, ${JSON.stringify(data)}::jsonb)`;

/** An outbox row as read back, for publishing or for a booking's history. */
export interface OutboxEventRow {
  id: string;
  type: BookingEvent['type'];
  occurred_at: Date;
  correlation_id: string;
  data: BookingEvent['data'];
}

/** The event envelope an outbox row stands for. */
export const toBookingEvent = (row: OutboxEventRow): BookingEvent =>
  ({
    id: row.id,
    type: row.type,
    occurred_at: new Date(row.occurred_at).toISOString(),
    correlation_id: row.correlation_id,
    data: row.data,
  }) as BookingEvent;
