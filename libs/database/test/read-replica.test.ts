import { PostgresWithStandby } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, migrateDatabase, ReplicaReads, type DatabaseConnection } from '../src/index.js';

/**
 * ReplicaReads against a real primary and a real streaming standby (pg_basebackup), the standby
 * reached through DATABASE_READ_URL as the booking service reaches it.
 */
describe('reads from a streaming standby', () => {
  let servers: PostgresWithStandby;
  let primary: DatabaseConnection;
  let replica: DatabaseConnection;
  const warnings: string[] = [];
  const log = { warn: (message: string) => warnings.push(message) };

  /** Which server answered, and whether it held booking `id`. */
  const whoHas = (id: number) => async (connection: DatabaseConnection) => {
    const { rows } = await connection.pool.query<{ standby: boolean; found: boolean }>(
      'SELECT pg_is_in_recovery() AS standby, EXISTS (SELECT 1 FROM bookings WHERE id = $1) AS found',
      [id],
    );
    return rows[0]!;
  };

  beforeAll(async () => {
    servers = await PostgresWithStandby.start();
    await migrateDatabase(servers.primary.url);
    primary = connectDatabase(servers.primary.url, { poolSize: 4 });
    replica = connectDatabase(servers.standby.url, { poolSize: 4, connectTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await primary?.close();
    await replica?.close();
    await servers?.dispose();
  });

  it('answers from the standby, and every read sees the writes acknowledged before it', async () => {
    const reads = new ReplicaReads(primary, replica, log);
    const { rows } = await primary.pool.query<{ id: number }>(
      "INSERT INTO events (name, total_seats) VALUES ('replica', 1000) RETURNING id",
    );
    const eventId = rows[0]!.id;
    for (let i = 0; i < 200; i++) {
      const booked = await primary.pool.query<{ id: number }>(
        'INSERT INTO bookings (event_id, user_id) VALUES ($1, $2) RETURNING id',
        [eventId, `reader-${i}`],
      );
      // At once, as a client reading its own booking right after the 201.
      expect((await reads.read(whoHas(booked.rows[0]!.id))).found).toBe(true);
    }
    // The standby answered (reads it had not replayed yet went to the primary).
    expect(reads.counts.replica).toBeGreaterThan(0);
    expect(reads.counts.replica + reads.counts.behind).toBe(200);
    expect(reads.counts.unavailable).toBe(0);
    expect((await reads.read(whoHas(0))).standby).toBe(true);
  });

  it('never reads from a server that is not a standby', async () => {
    const reads = new ReplicaReads(primary, primary, log);
    expect((await reads.read(whoHas(0))).standby).toBe(false);
    expect(reads.counts).toEqual({ replica: 0, behind: 1, unavailable: 0 });
  });

  it('reads the primary without a replica', async () => {
    const reads = new ReplicaReads(primary, undefined, log);
    expect((await reads.read(whoHas(0))).standby).toBe(false);
    expect(reads.counts).toEqual({ replica: 0, behind: 0, unavailable: 0 });
  });

  // Last: the standby does not come back.
  it('falls back to the primary when the standby is gone, and leaves it alone for a while', async () => {
    const reads = new ReplicaReads(primary, replica, log);
    expect((await reads.read(whoHas(0))).standby).toBe(true);
    await servers.standby.kill();
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect((await reads.read(whoHas(0))).standby).toBe(false);
    // One failed attempt, then the primary straight away: no connection timeout per read.
    expect(reads.counts.unavailable).toBe(20);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(warnings.some((warning) => warning.startsWith('read replica failed'))).toBe(true);
  });
});
