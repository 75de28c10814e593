import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestDatabase, testTempDir } from '@booking/testing';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectDatabase,
  ensureDatabaseExists,
  migrateDatabase,
  MIGRATIONS_FOLDER,
  redactUrl,
  seedDemoEvent,
} from '../src/index.js';

describe('database', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await TestDatabase.create();
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** The URL of a database beside the test's own, named with `suffix` (not created). */
  const siblingDatabaseUrl = (suffix: string): string => {
    const url = new URL(db.url);
    url.pathname = `${url.pathname}_${suffix}`;
    return url.toString();
  };

  async function dropDatabase(url: string): Promise<void> {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE ${pg.escapeIdentifier(new URL(url).pathname.slice(1))} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }

  it('refuses to oversell even for plain SQL inserts (trigger + CHECK)', async () => {
    const eventId = await db.createEvent(2);
    await db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2), ($1, $3)', [eventId, 'a', 'b']);
    await expect(
      db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)', [eventId, 'c']),
    ).rejects.toMatchObject({
      code: '23514',
      constraint: 'events_booked_seats_within_capacity',
    });
    expect(await db.count('bookings', 'event_id = $1', [eventId])).toBe(2);
  });

  it('refuses a second booking of one user and bookings for unknown events', async () => {
    const eventId = await db.createEvent(5);
    await db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)', [eventId, 'dup']);
    await expect(
      db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)', [eventId, 'dup']),
    ).rejects.toMatchObject({
      code: '23505',
    });
    await expect(db.query('INSERT INTO bookings (event_id, user_id) VALUES (999999, $1)', ['x'])).rejects.toMatchObject(
      {
        code: '23503',
      },
    );
  });

  it('keeps booked_seats equal to the bookings through deletes, moves and truncation', async () => {
    const first = await db.createEvent(3);
    const second = await db.createEvent(3);
    await db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2), ($1, $3)', [first, 'm1', 'm2']);
    await db.query('UPDATE bookings SET event_id = $1 WHERE event_id = $2 AND user_id = $3', [second, first, 'm1']);
    await db.query('DELETE FROM bookings WHERE event_id = $1 AND user_id = $2', [first, 'm2']);
    const seats = async () =>
      (
        await db.query<{ id: number; booked_seats: number }>(
          'SELECT id, booked_seats FROM events WHERE id = ANY($1) ORDER BY id',
          [[first, second]],
        )
      ).rows.map((r) => r.booked_seats);
    expect(await seats()).toEqual([0, 1]);
    await db.query('TRUNCATE bookings');
    expect(await seats()).toEqual([0, 0]);
  });

  it('keeps the counters exact for a many-row statement over several events, and refuses all of it when one overflows', async () => {
    const roomy = await db.createEvent(5);
    const tight = await db.createEvent(1);
    const seats = async () =>
      (
        await db.query<{ booked_seats: number }>('SELECT booked_seats FROM events WHERE id = ANY($1) ORDER BY id', [
          [roomy, tight],
        ])
      ).rows.map((r) => r.booked_seats);
    await db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2), ($1, $3), ($4, $2)', [
      roomy,
      's1',
      's2',
      tight,
    ]);
    expect(await seats()).toEqual([2, 1]);
    await expect(
      db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2), ($3, $2)', [roomy, 's3', tight]),
    ).rejects.toMatchObject({ code: '23514', constraint: 'events_booked_seats_within_capacity' });
    expect(await seats()).toEqual([2, 1]);
    expect(await db.count('bookings', 'event_id = ANY($1)', [[roomy, tight]])).toBe(3);
    await db.query('DELETE FROM bookings WHERE event_id = ANY($1)', [[roomy, tight]]);
    expect(await seats()).toEqual([0, 0]);
  });

  it('lets an operator add an event with plain SQL: every other column has a default', async () => {
    const { rows } = await db.query<{ booked_seats: number; created_at: Date; updated_at: Date }>(
      "INSERT INTO events (name, total_seats) VALUES ('psql event', 10) RETURNING booked_seats, created_at, updated_at",
    );
    expect(rows[0]!.booked_seats).toBe(0);
    expect(rows[0]!.created_at).toBeInstanceOf(Date);
  });

  it('refuses a booking outside its event sales window, whoever inserts it, and keeps the counter', async () => {
    const insertEvent = async (window: string) =>
      (await db.query<{ id: number }>(`INSERT INTO events (name, total_seats, ${window}) RETURNING id`)).rows[0]!.id;
    const notOpen = await insertEvent("sales_open_at) VALUES ('soon', 5, now() + interval '1 hour'");
    const closed = await insertEvent("sales_close_at) VALUES ('over', 5, now() - interval '1 hour'");
    const started = await insertEvent("starts_at) VALUES ('started', 5, now() - interval '1 second'");
    const open = await insertEvent(
      "sales_open_at, sales_close_at, starts_at) VALUES ('open', 5, now() - interval '1 hour', now() + interval '1 hour', now() + interval '2 hours'",
    );
    for (const eventId of [notOpen, closed, started]) {
      await expect(
        db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)', [eventId, 'psql']),
      ).rejects.toMatchObject({ code: 'BK002', message: `event ${eventId} is not on sale: nothing was booked` });
    }
    // One statement over an open and a closed event is refused whole.
    await expect(
      db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2), ($3, $2)', [open, 'both', closed]),
    ).rejects.toMatchObject({ code: 'BK002' });
    await db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)', [open, 'in-time']);
    const { rows } = await db.query<{ id: number; booked_seats: number }>(
      'SELECT id, booked_seats FROM events WHERE id = ANY($1) ORDER BY id',
      [[notOpen, closed, started, open]],
    );
    expect(rows.map((row) => row.booked_seats)).toEqual([0, 0, 0, 1]);
    // Cancelling after the close still frees the seat.
    await db.query("UPDATE events SET sales_close_at = now() - interval '1 second' WHERE id = $1", [open]);
    await db.query('DELETE FROM bookings WHERE event_id = $1', [open]);
    expect(await db.count('bookings', 'event_id = $1', [open])).toBe(0);
    // The window stays in order.
    await expect(
      db.query("UPDATE events SET sales_open_at = sales_close_at + interval '1 second' WHERE id = $1", [open]),
    ).rejects.toMatchObject({ code: '23514', constraint: 'events_sales_window_ordered' });
  });

  it('checks the window on the event as locked, not as the inserting statement first saw it', async () => {
    const eventId = await db.createEvent(5);
    const organiser = new pg.Client({ connectionString: db.url });
    const buyer = new pg.Client({ connectionString: db.url });
    await Promise.all([organiser.connect(), buyer.connect()]);
    try {
      await organiser.query('BEGIN');
      await organiser.query('UPDATE events SET sales_close_at = now() WHERE id = $1', [eventId]);
      // The buyer's statement sees the event on sale, inserts, and waits for the organiser's lock in the trigger.
      const booking = buyer.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)', [eventId, 'raced']);
      const outcome = booking.then(
        () => 'booked',
        (error: { code?: string }) => error.code,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      await organiser.query('COMMIT');
      expect(await outcome).toBe('BK002');
    } finally {
      await Promise.all([organiser.end(), buyer.end()]);
    }
    expect(await db.count('bookings', 'event_id = $1', [eventId])).toBe(0);
  });

  it('rejects a capacity below the seats already booked', async () => {
    const eventId = await db.createEvent(2);
    await db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2), ($1, $3)', [eventId, 'x', 'y']);
    await expect(db.query('UPDATE events SET total_seats = 1 WHERE id = $1', [eventId])).rejects.toMatchObject({
      code: '23514',
    });
  });

  it('migrates idempotently, also when run concurrently', async () => {
    await Promise.all([migrateDatabase(db.url), migrateDatabase(db.url)]);
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM drizzle.__drizzle_migrations');
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as {
      entries: unknown[];
    };
    expect(journal.entries.length).toBeGreaterThanOrEqual(2);
    expect(Number(rows[0]!.n)).toBe(journal.entries.length);
  });

  it('queues every outbox row for the relay, also one inserted with plain SQL', async () => {
    const { rows } = await db.query<{ position: string }>(
      `INSERT INTO outbox (type, event_id, correlation_id, data)
       VALUES ('booking.failed', 1, 'sql', '{}'), ('booking.failed', 1, 'sql', '{}') RETURNING position`,
    );
    const queued = await db.query('SELECT 1 FROM outbox_pending WHERE position = ANY($1::bigint[])', [
      rows.map((row) => row.position),
    ]);
    expect(queued.rowCount).toBe(2);
  });

  it('gives outbox rows time-ordered ids (UUIDv7): each later than the one before, dated now', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO outbox (type, event_id, correlation_id, data) VALUES ('booking.failed', 1, 'ordered', '{}') RETURNING id`,
      );
      ids.push(rows[0]!.id);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(5);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const millis = parseInt(id.replaceAll('-', '').slice(0, 12), 16);
      expect(Math.abs(millis - Date.now())).toBeLessThan(60_000);
    }
  });

  it('upgrading to the outbox queue keeps unpublished rows pending and published ones done', async () => {
    // The migrations up to the one before the queue, from a copy of the folder with a shortened journal.
    const folder = testTempDir('migrations');
    const url = siblingDatabaseUrl('upgrade');
    await ensureDatabaseExists(url);
    const old = connectDatabase(url, { poolSize: 1, applicationName: 'test' });
    try {
      cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
      const journalPath = join(folder, 'meta/_journal.json');
      const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
      const queue = journal.entries.findIndex((entry) => entry.tag.endsWith('_outbox_pending_queue'));
      expect(queue).toBeGreaterThan(0);
      writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, queue) }));
      await migrate(old.db, { migrationsFolder: folder });
      const { rows } = await old.pool.query<{ position: string; published: boolean }>(
        `INSERT INTO outbox (type, event_id, correlation_id, data, published_at)
         SELECT 'booking.failed', 1, 'old', '{}', CASE WHEN g % 2 = 0 THEN now() END FROM generate_series(1, 6) g
         RETURNING position, published_at IS NOT NULL AS published`,
      );
      await migrateDatabase(url);
      const queued = await old.pool.query<{ position: string }>('SELECT position FROM outbox_pending ORDER BY 1');
      expect(queued.rows.map((row) => row.position)).toEqual(
        rows.filter((row) => !row.published).map((row) => row.position),
      );
    } finally {
      await old.close();
      rmSync(folder, { recursive: true, force: true });
      await dropDatabase(url);
    }
  });

  it('seeds exactly one demo event into an empty database, even with concurrent seeders', async () => {
    const url = siblingDatabaseUrl('seed');
    expect(await ensureDatabaseExists(url)).toBe(true);
    expect(await ensureDatabaseExists(url)).toBe(false);
    await migrateDatabase(url);
    const connection = connectDatabase(url, { poolSize: 4 });
    try {
      const results = await Promise.all([
        seedDemoEvent(connection.db),
        seedDemoEvent(connection.db),
        seedDemoEvent(connection.db),
      ]);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      const { rows } = await connection.pool.query('SELECT name, total_seats FROM events');
      expect(rows).toEqual([{ name: 'Demo Concert', total_seats: 100 }]);
    } finally {
      await connection.close();
      await dropDatabase(url);
    }
  });

  it('hides passwords in URLs it prints', () => {
    expect(redactUrl('postgresql://app:s3cret@db:5432/booking')).toBe('postgresql://app:***@db:5432/booking');
    expect(redactUrl('postgresql://postgres@127.0.0.1/booking')).toBe('postgresql://postgres@127.0.0.1/booking');
    expect(redactUrl('not a url')).toBe('<unparseable URL>');
  });
});
