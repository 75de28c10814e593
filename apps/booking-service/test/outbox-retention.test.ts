import { connectDatabase, RetentionJob, type DatabaseConnection, type RetentionSettings } from '@booking/database';
import { ConfigError } from '@booking/shared';
import { TestDatabase, waitUntil } from '@booking/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadBookingServiceConfig } from '../src/config.js';
import { OUTBOX_RETENTION_SQL } from '../src/outbox/outbox-retention.js';

const DAY_MS = 86_400_000;
const settings: RetentionSettings = { retentionMs: 30 * DAY_MS, intervalMs: 60_000, batchSize: 4, pauseMs: 0 };

describe('outbox retention', () => {
  let db: TestDatabase;
  const jobs: RetentionJob[] = [];
  const connections: DatabaseConnection[] = [];

  beforeAll(async () => {
    db = await TestDatabase.create();
  });
  afterEach(async () => {
    await Promise.all(jobs.splice(0).map((job) => job.stop()));
    await Promise.all(connections.splice(0).map((connection) => connection.close()));
  });
  afterAll(async () => {
    await db?.drop();
  });

  const job = (overrides: Partial<RetentionSettings> = {}, pool = db.connection.pool) => {
    const created = new RetentionJob(pool, 'outbox retention', OUTBOX_RETENTION_SQL, { ...settings, ...overrides });
    jobs.push(created);
    return created;
  };

  /** Outbox rows that occurred `ageMs` ago, published unless `pending`; returns their positions. */
  async function addRows(count: number, ageMs: number, pending = false): Promise<number[]> {
    const { rows } = await db.query<{ position: string }>(
      `INSERT INTO outbox (type, event_id, correlation_id, data, occurred_at)
       SELECT 'booking.failed', 1, 'c', '{}'::jsonb, now() - $2 * interval '1 millisecond' FROM generate_series(1, $1)
       RETURNING position`,
      [count, ageMs],
    );
    const positions = rows.map((row) => Number(row.position));
    if (!pending) await db.query('DELETE FROM outbox_pending WHERE position = ANY($1::bigint[])', [positions]);
    return positions;
  }

  const outboxPositions = async () =>
    (await db.query<{ position: string }>('SELECT position FROM outbox ORDER BY position')).rows.map((row) =>
      Number(row.position),
    );

  beforeEach(async () => {
    await db.query('TRUNCATE outbox, outbox_pending');
  });

  it('deletes the published rows past retention in batches, up to the first unpublished one, and keeps recent rows', async () => {
    await addRows(10, 40 * DAY_MS);
    const [unpublished] = await addRows(1, 40 * DAY_MS, true);
    const oldAfter = await addRows(15, 31 * DAY_MS);
    const recent = await addRows(5, 29 * DAY_MS);

    const first = await job().runPass();
    // 10 rows in batches of 4: 4, 4, then 2 (fewer than a batch ends the pass).
    expect(first).toMatchObject({ deleted: 10, batches: 3 });
    expect(await outboxPositions()).toEqual([unpublished, ...oldAfter, ...recent]);

    // Once published, the row and those after it go too; the recent ones stay.
    await db.query('DELETE FROM outbox_pending WHERE position = $1', [unpublished]);
    expect(await job().runPass()).toMatchObject({ deleted: 16, batches: 5 });
    expect(await outboxPositions()).toEqual(recent);

    // Nothing left past retention: one batch that deletes nothing.
    expect(await job().runPass()).toMatchObject({ deleted: 0, batches: 1 });
  });

  it('stops at a recent row even when older ones follow it (a long transaction took an earlier position)', async () => {
    await addRows(3, 40 * DAY_MS);
    const recent = await addRows(1, DAY_MS);
    const oldLater = await addRows(2, 40 * DAY_MS);
    expect(await job().runPass()).toMatchObject({ deleted: 3 });
    expect(await outboxPositions()).toEqual([...recent, ...oldLater]);
  });

  it('runs one pass at a time across replicas: a pass skips while another holds the lock', async () => {
    await addRows(6, 40 * DAY_MS);
    const other = connectDatabase(db.url, { poolSize: 2 });
    connections.push(other);
    // Batches of one with a pause between them keep the first pass (and its lock) going for a while.
    const slow = job({ batchSize: 1, pauseMs: 100 });
    const rival = job({ batchSize: 1, pauseMs: 100 }, other.pool);
    const running = slow.runPass();
    await waitUntil(async () => (await outboxPositions()).length < 6, 5_000, 'the first pass deleting');
    expect(await rival.runPass()).toBeUndefined();
    expect(await running).toMatchObject({ deleted: 6, batches: 7 });

    // The lock is free again once the pass is over.
    await addRows(1, 40 * DAY_MS);
    expect(await rival.runPass()).toMatchObject({ deleted: 1 });
  });

  it('a lock held by another session (a replica mid-pass) makes the pass skip', async () => {
    await addRows(2, 40 * DAY_MS);
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1, hashtext('outbox retention'))", [0x5245544e]);
      expect(await job().runPass()).toBeUndefined();
      expect(await outboxPositions()).toHaveLength(2);
    } finally {
      await holder.end();
    }
    expect(await job().runPass()).toMatchObject({ deleted: 2 });
  });

  it('started, it runs a pass at once and logs what it deleted; stopped, it runs no more', async () => {
    await addRows(3, 40 * DAY_MS);
    const messages: string[] = [];
    const logger = {
      log: (message: string) => messages.push(message),
      error: (message: string) => messages.push(message),
    };
    const started = new RetentionJob(db.connection.pool, 'outbox retention', OUTBOX_RETENTION_SQL, settings, logger);
    jobs.push(started);
    started.onApplicationBootstrap();
    await waitUntil(async () => (await outboxPositions()).length === 0, 5_000, 'the first pass');
    await waitUntil(async () => messages.length > 0, 5_000, 'the log line');
    expect(messages[0]).toMatch(/^outbox retention: deleted 3 rows older than .* in 1 batches$/);
    await started.onApplicationShutdown();
    await addRows(1, 40 * DAY_MS);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await outboxPositions()).toHaveLength(1);
  });

  it('a failing pass rejects, and on the schedule it is logged', async () => {
    const messages: string[] = [];
    const logger = {
      log: (message: string) => messages.push(message),
      error: (message: string) => messages.push(message),
    };
    const broken = new RetentionJob(
      db.connection.pool,
      'broken retention',
      'DELETE FROM no_such_table',
      settings,
      logger,
    );
    jobs.push(broken);
    await expect(broken.runPass()).rejects.toMatchObject({ code: '42P01' });
    broken.start();
    await waitUntil(async () => messages.length > 0, 5_000, 'the error line');
    expect(messages[0]).toContain('broken retention: relation "no_such_table" does not exist; next pass later');
  });

  it('with retention 0 it never runs', async () => {
    await addRows(2, 400 * DAY_MS);
    job({ retentionMs: 0 }).start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await outboxPositions()).toHaveLength(2);
  });
});

describe('outbox retention settings', () => {
  it('default to 30 days of outbox, 3 days of stream', () => {
    const config = loadBookingServiceConfig({});
    expect(config.OUTBOX_RETENTION).toBe(30 * DAY_MS);
    expect(config.BOOKING_EVENTS_MAX_AGE).toBe(3 * DAY_MS);
    expect(config.BOOKING_EVENTS_MAX_BYTES).toBe(0);
    expect(loadBookingServiceConfig({ OUTBOX_RETENTION: '36h', BOOKING_EVENTS_MAX_AGE: '90m' })).toMatchObject({
      OUTBOX_RETENTION: 36 * 3_600_000,
      BOOKING_EVENTS_MAX_AGE: 90 * 60_000,
    });
    expect(loadBookingServiceConfig({ OUTBOX_RETENTION: '0', BOOKING_EVENTS_MAX_AGE: '0' }).OUTBOX_RETENTION).toBe(0);
  });

  it('refuse an outbox kept less long than the stream, or a duration without a unit', () => {
    expect(() => loadBookingServiceConfig({ OUTBOX_RETENTION: '2d' })).toThrow(
      'OUTBOX_RETENTION: must be 0 or longer than BOOKING_EVENTS_MAX_AGE',
    );
    expect(() => loadBookingServiceConfig({ BOOKING_EVENTS_MAX_AGE: '0' })).toThrow(ConfigError);
    expect(() => loadBookingServiceConfig({ OUTBOX_RETENTION: '7 days' })).toThrow(
      'OUTBOX_RETENTION: must be 0 or a whole number with a unit s, m, h or d (e.g. 7d)',
    );
  });
});
