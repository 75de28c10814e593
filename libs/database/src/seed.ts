import { sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { events } from './schema.js';

export const DEMO_EVENT = { name: 'Demo Concert', totalSeats: 100 } as const;

/** Inserts the demo event when the database holds no event at all; returns the demo (or first) event's id. */
export async function seedDemoEvent(db: Database): Promise<{ id: number; created: boolean }> {
  return db.transaction(async (tx) => {
    // Serialise concurrent seeders so exactly one inserts.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('seed-demo-event'))`);
    const [existing] = await tx.select({ id: events.id }).from(events).orderBy(events.id).limit(1);
    if (existing) return { id: existing.id, created: false };
    const [created] = await tx.insert(events).values(DEMO_EVENT).returning({ id: events.id });
    return { id: created!.id, created: true };
  });
}
