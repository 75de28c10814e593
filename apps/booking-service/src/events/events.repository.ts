import { events, type DatabaseConnection, type EventRow } from '@booking/database';
import type { CreateEventCommand, EventView, SeatUpdate } from '@booking/shared';
import { Inject, Injectable } from '@nestjs/common';
import { asc, eq, inArray, sql } from 'drizzle-orm';
import { seatsLeft } from '../booking/reservation-rules.js';
import { startedBy } from '../common/command-deadline.js';
import { DATABASE } from '@booking/service-kit';

const MAX_LIST_SIZE = 1000;

interface EventRecord extends Record<string, unknown> {
  id: number;
  name: string;
  total_seats: number;
  booked_seats: number;
  created_at: string | Date;
  updated_at: string | Date;
}

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
    const { rows } = await this.database.db.execute<EventRecord>(sql`
      INSERT INTO events (name, total_seats) SELECT ${command.name}, ${command.total_seats} WHERE ${startedBy(startBy)}
      RETURNING id, name, total_seats, booked_seats, created_at, updated_at`);
    const row = rows[0]!;
    return toEventView({
      id: row.id,
      name: row.name,
      totalSeats: row.total_seats,
      bookedSeats: row.booked_seats,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    });
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

  async list(): Promise<EventView[]> {
    const rows = await this.database.db.select().from(events).orderBy(asc(events.id)).limit(MAX_LIST_SIZE);
    return rows.map(toEventView);
  }
}

const toEventView = (row: EventRow): EventView => ({
  id: row.id,
  name: row.name,
  total_seats: row.totalSeats,
  booked_seats: row.bookedSeats,
  available_seats: seatsLeft(row),
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
});
