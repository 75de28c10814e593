import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { removeLeftovers } from '../../../test/leftovers.mjs';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** The id of a process that has ended. */
const endedPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const databaseExists = (name: string) =>
  admin(async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);

describe('removing what interrupted test runs left', () => {
  const created: string[] = [];
  afterAll(() =>
    admin(async (client) => {
      for (const name of created)
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    }),
  );

  it("removes an ended run's databases and folders, leaves a database in use unless forced, and touches no other run's", async () => {
    const ended = endedPid();
    const other = endedPid();
    const [idle, inUse, others] = [
      `booking_test_${ended}_idle`,
      `booking_test_${ended}_in_use`,
      `booking_test_${other}_x`,
    ];
    created.push(idle, inUse, others);
    await admin(async (client) => {
      for (const name of created) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    });
    const folder = mkdtempSync(join(tmpdir(), `booking-test-${ended}-kind-`));
    const othersFolder = mkdtempSync(join(tmpdir(), `booking-test-${other}-kind-`));
    const session = new pg.Client({ connectionString: new URL(`/${inUse}`, ADMIN_URL).toString() });
    // The forced removal below ends this session.
    session.on('error', () => undefined);
    await session.connect();
    try {
      const removed = await removeLeftovers((pid: number) => pid === ended);
      expect(removed).toEqual({ databases: 1, folders: 1 });
      expect(await databaseExists(idle)).toBe(false);
      expect(await databaseExists(inUse)).toBe(true);
      expect(existsSync(folder)).toBe(false);
      expect(await databaseExists(others)).toBe(true);
      expect(existsSync(othersFolder)).toBe(true);

      expect(await removeLeftovers((pid: number) => pid === ended, { force: true })).toEqual({
        databases: 1,
        folders: 0,
      });
      expect(await databaseExists(inUse)).toBe(false);
      expect(await removeLeftovers((pid: number) => pid === other)).toEqual({ databases: 1, folders: 1 });
    } finally {
      await session.end().catch(() => undefined);
    }
  });
});
