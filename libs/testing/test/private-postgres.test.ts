import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PrivatePostgres, TestDatabase } from '../src/index.js';

describe.skipIf(PrivatePostgres.unavailable)('a private PostgreSQL server', () => {
  const servers: PrivatePostgres[] = [];
  afterAll(() => Promise.allSettled(servers.map((server) => server.dispose())));

  it('runs with the given settings, keeps its data across a crash and a restart, and is removed by dispose', async () => {
    const server = await PrivatePostgres.start({ settings: { work_mem: '7MB', application_name: 'private' } });
    servers.push(server);
    const { rows } = await server.query<{ work_mem: string; encoding: string }>(
      "SELECT current_setting('work_mem') AS work_mem, pg_encoding_to_char(encoding) AS encoding FROM pg_database WHERE datname = 'postgres'",
    );
    expect(rows[0]).toEqual({ work_mem: '7MB', encoding: 'UTF8' });
    // TestDatabase takes its admin URL: a migrated database on this server.
    const database = await TestDatabase.create(server.url);
    const eventId = await database.createEvent(3);
    await database.connection.close();

    await server.kill();
    expect(server.running).toBe(false);
    await expect(server.query('SELECT 1')).rejects.toThrow();
    await server.resume();
    const events = await server.query<{ id: number }>(
      'SELECT id FROM events',
      [],
      new URL(database.url).pathname.slice(1),
    );
    expect(events.rows).toEqual([{ id: eventId }]);
    expect(server.log()).toContain('database system was interrupted');

    await server.dispose();
    expect(server.running).toBe(false);
    expect(existsSync(join(server.dataDir, '..'))).toBe(false);
  });
});
