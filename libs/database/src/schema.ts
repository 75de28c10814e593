import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgSchema,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  unique,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';

export const events = pgTable(
  'events',
  {
    id: serial('id').primaryKey(),
    name: varchar('name', { length: 255 }).notNull(),
    totalSeats: integer('total_seats').notNull(),
    // Kept by the seat-counter trigger on bookings (migration 0004), once per
    // statement under the event's row lock; the CHECK below is what makes
    // overselling impossible whatever the application does.
    bookedSeats: integer('booked_seats').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    // The details and the sales window (migration 0010). All may be null: an event inserted with only a
    // name and seats is on sale at once and until it is closed. Sales close at the earlier of
    // `sales_close_at` and `starts_at`; the seat-counter trigger refuses a booking outside the window
    // (`event_sales_state`), whoever inserts it.
    startsAt: timestamp('starts_at', { withTimezone: true }),
    venue: varchar('venue', { length: 255 }),
    description: varchar('description', { length: 5000 }),
    salesOpenAt: timestamp('sales_open_at', { withTimezone: true }),
    salesCloseAt: timestamp('sales_close_at', { withTimezone: true }),
  },
  (table) => [
    check('events_total_seats_non_negative', sql`${table.totalSeats} >= 0`),
    check(
      'events_booked_seats_within_capacity',
      sql`${table.bookedSeats} >= 0 AND ${table.bookedSeats} <= ${table.totalSeats}`,
    ),
    // Equal times are an empty window: closing the sales of an event not yet on sale makes one.
    check('events_sales_window_ordered', sql`${table.salesOpenAt} <= ${table.salesCloseAt}`),
  ],
);

export const bookings = pgTable(
  'bookings',
  {
    id: serial('id').primaryKey(),
    eventId: integer('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    userId: varchar('user_id', { length: 255 }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    unique('bookings_event_id_user_id_unique').on(table.eventId, table.userId),
    index('bookings_user_id_idx').on(table.userId),
  ],
);

/**
 * The line for a sold-out event's seats (migration 0012): one place per user and event, in the order the
 * places were taken (`id`: joins are serialised on the event's row lock, so ids follow commit order). A
 * seat freed while anyone waits goes to the first in line in the transaction that frees it, so a
 * non-empty line means a full event while sales are open. Deleted with its event.
 */
export const waitlist = pgTable(
  'waitlist',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    eventId: integer('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    userId: varchar('user_id', { length: 255 }).notNull(),
    joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    unique('waitlist_event_id_user_id_unique').on(table.eventId, table.userId),
    // The line of one event in order: the first to promote, and a user's position.
    index('waitlist_event_id_id_idx').on(table.eventId, table.id),
  ],
);

/**
 * Transactional outbox: one row per booking event, written by the same
 * statement as the booking change, so a committed change always has its event.
 * Written once and never updated: what is still to publish is `outboxPending`.
 * Rows are the audit trail behind the booking history view, kept for the
 * booking service's OUTBOX_RETENTION and then deleted oldest position first
 * (by that unique index: an index on `occurred_at` would cost every insert).
 */
export const outbox = pgTable(
  'outbox',
  {
    /**
     * The event's id, also its JetStream message id (de-duplication of re-sends). Time-ordered (UUIDv7,
     * migration 0009): each new id goes to the right edge of the primary key's index, where a random one
     * would land on any of its pages, which a long outbox no longer holds in memory.
     */
    id: uuid('id')
      .primaryKey()
      .default(sql`uuid_v7()`),
    /** Commit-order position: the relay publishes in this order. */
    position: bigserial('position', { mode: 'number' }).notNull().unique(),
    type: varchar('type', { length: 64 }).notNull(),
    /** No foreign key: the history must outlive a cancelled (deleted) booking. */
    bookingId: integer('booking_id'),
    /** The event booked (`events.id`), as in `bookings`; the booking event's own id is `id`. */
    eventId: integer('event_id').notNull(),
    correlationId: varchar('correlation_id', { length: 255 }).notNull(),
    data: jsonb('data').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    // Only events of a booking are looked up by booking (the history view): refusals, most rows in a
    // flash sale, carry none and stay out of the index.
    index('outbox_booking_id_idx')
      .on(table.bookingId)
      .where(sql`${table.bookingId} IS NOT NULL`),
  ],
);

/**
 * The positions of the outbox rows not yet published. A trigger on `outbox`
 * (migration 0006) adds every inserted row, whoever inserts it; the relay
 * deletes a row once JetStream has acknowledged its event. A queue apart from
 * the outbox, so that publishing deletes one small row instead of writing a
 * new version of the outbox row and an entry in each of its indexes.
 */
export const outboxPending = pgTable('outbox_pending', {
  position: bigint('position', { mode: 'number' }).primaryKey(),
});

/** Tables of the notification service, in a schema of their own; the booking service never touches them. */
export const notificationsSchema = pgSchema('notifications');

/**
 * Each booking event the notification service has taken in, once per booking
 * event id; kept for NOTIFICATION_RETENTION (oldest first, by `received_at`'s index).
 */
export const receivedEvents = notificationsSchema.table(
  'received_events',
  {
    /** The booking event's id (the outbox row's `id`, the JetStream message id), not an `events.id`. */
    bookingEventId: uuid('event_id').primaryKey(),
    type: varchar('type', { length: 64 }).notNull(),
    correlationId: varchar('correlation_id', { length: 255 }).notNull(),
    envelope: jsonb('envelope'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('received_events_received_at_idx').on(table.receivedAt)],
);

/**
 * One row per (event, channel): `delivered`, `pending` (being retried) or
 * `dead_letter` (gave up after the maximum number of attempts).
 */
export const deliveries = notificationsSchema.table(
  'deliveries',
  {
    /** The booking event delivered (`received_events.event_id`), not an `events.id`. */
    bookingEventId: uuid('event_id')
      .notNull()
      .references(() => receivedEvents.bookingEventId, { onDelete: 'cascade' }),
    channel: varchar('channel', { length: 32 }).notNull(),
    status: varchar('status', { length: 16 }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.bookingEventId, table.channel] }),
    check('deliveries_status_known', sql`${table.status} IN ('pending', 'delivered', 'dead_letter')`),
  ],
);

export type OutboxRow = typeof outbox.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type BookingRow = typeof bookings.$inferSelect;
export type WaitlistRow = typeof waitlist.$inferSelect;
