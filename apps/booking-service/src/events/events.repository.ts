import { events, type DatabaseConnection, type EventRow } from '@booking/database';
import type { CreateEventCommand, EventView } from '@booking/shared';
import { Inject, Injectable } from '@nestjs/common';
import { asc, eq, sql } from 'drizzle-orm';
import { seatsLeft } from '../booking/reservation.js';
import { DATABASE } from '../database/database.module.js';

const MAX_LIST_SIZE = 1000;

@Injectable()
export class EventsRepository {
  /**
   * The read a crowd repeats, built once: drizzle then neither rebuilds its SQL
   * nor PostgreSQL re-parses it on each lookup (a named statement, parsed once
   * per connection). A quarter less CPU per lookup (docs/performance.md).
   */
  private readonly eventById;

  constructor(@Inject(DATABASE) private readonly database: DatabaseConnection) {
    this.eventById = database.db
      .select()
      .from(events)
      .where(eq(events.id, sql.placeholder('id')))
      .prepare('event_by_id');
  }

  async create(command: CreateEventCommand): Promise<EventView> {
    const [row] = await this.database.db
      .insert(events)
      .values({ name: command.name, totalSeats: command.total_seats })
      .returning();
    return toEventView(row!);
  }

  async findById(id: number): Promise<EventView | undefined> {
    const [row] = await this.eventById.execute({ id });
    return row && toEventView(row);
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
