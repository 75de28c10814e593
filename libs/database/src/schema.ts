import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, serial, timestamp, unique, varchar } from 'drizzle-orm/pg-core';

export const events = pgTable(
  'events',
  {
    id: serial('id').primaryKey(),
    name: varchar('name', { length: 255 }).notNull(),
    totalSeats: integer('total_seats').notNull(),
    // Maintained by the reserve statement under the row lock; the CHECK below is
    // what makes overselling impossible whatever the application does.
    bookedSeats: integer('booked_seats').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check('events_total_seats_non_negative', sql`${table.totalSeats} >= 0`),
    check(
      'events_booked_seats_within_capacity',
      sql`${table.bookedSeats} >= 0 AND ${table.bookedSeats} <= ${table.totalSeats}`,
    ),
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

export type EventRow = typeof events.$inferSelect;
export type BookingRow = typeof bookings.$inferSelect;
