import { execFile } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  findCommand,
  freePort,
  PrivatePostgres,
  runAsPostgresUser,
  TestDatabase,
  type CommandResult,
} from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessKeyOf, Stack, type ApiResponse } from '../../apps/api-gateway/test/support/stack.js';
import type { ReplayReport } from '../../apps/booking-service/src/replay/replay.js';

const BACKUP = fileURLToPath(new URL('../backup.sh', import.meta.url));
const RESTORE = fileURLToPath(new URL('../restore.sh', import.meta.url));
const REPLAY_CLI = fileURLToPath(new URL('../../apps/booking-service/dist/replay/cli.js', import.meta.url));
const NAMESPACE = 'drill';

const unavailable = PrivatePostgres.unavailable ?? findCommand('pgbackrest').reason;

interface Booking {
  id: number;
  event_id: number;
  user_id: string;
}

const key = (booking: { event_id: number; user_id: string }) => `${booking.event_id}/${booking.user_id}`;
const sortedIds = (bookings: Iterable<{ id: number }>) => [...bookings].map(({ id }) => id).sort((a, b) => a - b);

/** Net bookings per event of a set of bookings. */
function countsByEvent(bookings: Iterable<Booking>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const { event_id } of bookings) counts.set(event_id, (counts.get(event_id) ?? 0) + 1);
  return counts;
}

/**
 * The restore drill of docs/operations.md, against real processes: a private PostgreSQL that archives its
 * WAL with pgBackRest, the booking service and gateway on it, scripts/backup.sh and scripts/restore.sh.
 * Bookings, a base backup, more bookings and cancellations, a restore point, more of both; then restores to
 * that point (by its name, and by time) into new clusters on other ports.
 */
describe.skipIf(unavailable)('restore drill: point-in-time recovery with pgBackRest', () => {
  let dir: string;
  let primary: PrivatePostgres;
  let stack: Stack;
  let eventIds: number[];
  /** Bookings the gateway confirmed (201) and that were not cancelled since, by id. */
  const live = new Map<number, Booking & { response: ApiResponse }>();
  let atRestorePoint: Booking[];
  let restoredByName: PrivatePostgres;
  let restoredByTime: PrivatePostgres;
  let pgbackrest: Record<string, string>;
  const timings: Record<string, number> = {};
  let backupSizes = '';
  /** The messages of the 409s. */
  const refusals: string[] = [];

  /** Runs a script as the database's user, with the drill's pgBackRest settings; times it under `label`. */
  async function script(path: string, args: string[], label?: string): Promise<CommandResult> {
    const started = performance.now();
    // The copy in the drill's folder: the servers' user may not reach the checkout (a clone in a private temp folder).
    const copy = join(dir, basename(path));
    const result = await runAsPostgresUser('bash', [copy, ...args], { env: pgbackrest, cwd: dir, timeoutMs: 120_000 });
    if (label) timings[label] = Math.round(performance.now() - started);
    return result;
  }

  /** `count` reservations at once over the three events; users repeat, so some are duplicates (409). */
  async function reserve(round: string, count: number): Promise<void> {
    const responses = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        stack.reserve({ event_id: eventIds[i % 3]!, user_id: `${round}-user-${i % 25}` }),
      ),
    );
    for (const response of responses) {
      expect([201, 409]).toContain(response.status);
      if (response.status === 201) live.set(response.body.id, { ...response.body, response });
      else refusals.push(response.body.message);
    }
  }

  async function cancel(count: number): Promise<void> {
    const chosen = [...live.values()].slice(0, count);
    const responses = await Promise.all(
      chosen.map((booking) => stack.cancel(booking.id, accessKeyOf(booking.response))),
    );
    expect(responses.map((response) => response.status)).toEqual(chosen.map(() => 200));
    for (const booking of chosen) live.delete(booking.id);
  }

  const snapshot = (): Booking[] => [...live.values()].map(({ id, event_id, user_id }) => ({ id, event_id, user_id }));

  /** Restores to `target` into a new directory and starts a server there; resolves once recovery ended. */
  async function restore(name: string, target: string[]): Promise<PrivatePostgres> {
    const dataDir = join(dir, name);
    await script(RESTORE, ['--to', dataDir, ...target], `restore (${name})`);
    const started = performance.now();
    // The restored server fetches WAL with `pgbackrest archive-get`: the same settings, another data directory.
    const server = await PrivatePostgres.start({
      dataDir,
      env: { ...pgbackrest, PGBACKREST_PG1_PATH: dataDir },
    });
    await waitForPromotion(server);
    timings[`recovery (${name})`] = Math.round(performance.now() - started);
    return server;
  }

  async function waitForPromotion(server: PrivatePostgres): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await server.query<{ recovering: boolean }>('SELECT pg_is_in_recovery() AS recovering');
      if (!rows[0]!.recovering) return;
      if (Date.now() > deadline) throw new Error(`recovery did not end within 60 s:\n${server.log().slice(-3_000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const bookingsOn = async (server: PrivatePostgres): Promise<Booking[]> =>
    (
      await server.query<Booking>(
        'SELECT id, event_id, user_id FROM bookings ORDER BY id',
        [],
        new URL(stack.db.url).pathname.slice(1),
      )
    ).rows;

  beforeAll(async () => {
    dir = PrivatePostgres.tempDir('restore-drill');
    for (const path of [BACKUP, RESTORE]) copyFileSync(path, join(dir, basename(path)));
    const port = await freePort();
    const dataDir = join(dir, 'primary');
    pgbackrest = {
      PGBACKREST_STANZA: 'booking',
      PGBACKREST_REPO1_PATH: join(dir, 'repository'),
      PGBACKREST_PG1_PATH: dataDir,
      PGBACKREST_PG1_PORT: String(port),
      PGBACKREST_PG1_SOCKET_PATH: dir,
      PGBACKREST_LOCK_PATH: join(dir, 'lock'),
      // This machine's own pgBackRest configuration (/etc/pgbackrest) stays out of the drill, and
      // archive-push and archive-get, run by the servers, write no log files in /var/log.
      PGBACKREST_CONFIG_PATH: join(dir, 'pgbackrest-config'),
      PGBACKREST_LOG_LEVEL_FILE: 'off',
    };
    primary = await PrivatePostgres.start({
      dataDir,
      port,
      env: pgbackrest,
      settings: { wal_level: 'replica', archive_mode: 'on', archive_command: 'pgbackrest archive-push %p' },
    });
    await script(BACKUP, ['init']);
    stack = await Stack.start({ db: await TestDatabase.create(primary.url), namespace: NAMESPACE });
    // Seats for 30, 12 (sold out in the first round) and 60.
    eventIds = [await stack.db.createEvent(30), await stack.db.createEvent(12), await stack.db.createEvent(60)];

    await reserve('before-backup', 90);
    await script(BACKUP, ['full'], 'full backup');
    // pgBackRest records the backup's stop time in whole seconds: a restore to a time within the second the
    // backup ended may find no backup that ended before it. The restore point must come later.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await reserve('after-backup', 90);
    await cancel(5);
    // Every event published: the restored outbox then has nothing pending that the stream lacks.
    await stack.outboxDrained();
    atRestorePoint = snapshot();
    await primary.query("SELECT pg_create_restore_point('drill')");
    const { rows } = await primary.query<{ now: string }>('SELECT clock_timestamp()::text AS now');
    const restorePointTime = rows[0]!.now;
    expect(sortedIds(await bookingsOn(primary))).toEqual(sortedIds(atRestorePoint));

    await reserve('after-restore-point', 60);
    await cancel(4);
    await stack.outboxDrained();
    // Switches WAL and waits until the segment holding the restore point is in the repository.
    await script(BACKUP, ['check'], 'check');
    backupSizes = /database size: .*\n.*backup set size: .*/.exec((await script(BACKUP, ['info'])).stdout)?.[0] ?? '';

    restoredByName = await restore('restored-by-name', ['--name', 'drill']);
    restoredByTime = await restore('restored-by-time', ['--time', restorePointTime]);
  }, 240_000);

  afterAll(async () => {
    console.info(
      `restore drill (${live.size} bookings live, ${atRestorePoint?.length} at the restore point; ${backupSizes}): ` +
        JSON.stringify(timings),
    );
    await Promise.allSettled([restoredByName?.stop(), restoredByTime?.stop()]);
    await stack?.stop();
    await primary?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the restored database holds exactly the bookings made before the restore point, and none after', async () => {
    // Among the reservations: a user's second booking of an event, and a sold-out event.
    expect(refusals.filter((message) => message.includes('already booked')).length).toBeGreaterThan(0);
    expect(refusals.filter((message) => message.startsWith('No available seats')).length).toBeGreaterThan(0);
    const restored = await bookingsOn(restoredByName);
    expect(restored).toEqual([...atRestorePoint].sort((a, b) => a.id - b.id));
    // The drill did change things after the point: bookings made and bookings cancelled.
    const now = new Set(live.keys());
    expect(restored.filter((booking) => !now.has(booking.id)).length).toBe(4);
    expect([...now].filter((id) => !restored.some((booking) => booking.id === id)).length).toBeGreaterThan(0);
    // Restoring to the time noted at the point gives the same database.
    expect(await bookingsOn(restoredByTime)).toEqual(restored);
  });

  it('the invariants hold there: no oversold event, seat counters equal to the bookings, one booking per user and event', async () => {
    const database = new URL(stack.db.url).pathname.slice(1);
    for (const server of [restoredByName, restoredByTime]) {
      const { rows: events } = await server.query<{ id: number; total_seats: number; booked_seats: number; n: string }>(
        `SELECT e.id, e.total_seats, e.booked_seats, count(b.id) AS n
           FROM events e LEFT JOIN bookings b ON b.event_id = e.id GROUP BY e.id ORDER BY e.id`,
        [],
        database,
      );
      expect(events.map((event) => event.id)).toEqual(eventIds);
      for (const event of events) {
        expect(event.booked_seats).toBe(Number(event.n));
        expect(event.booked_seats).toBeLessThanOrEqual(event.total_seats);
      }
      const bookings = await bookingsOn(server);
      expect(new Set(bookings.map(key)).size).toBe(bookings.length);
      const { rows: pending } = await server.query<{ n: string }>(
        'SELECT count(*) AS n FROM outbox_pending',
        [],
        database,
      );
      expect(Number(pending[0]!.n)).toBe(0);
    }
  });

  it('restore.sh refuses the running primary’s data directory, which goes on serving', async () => {
    const refused = await script(RESTORE, ['--to', primary.dataDir, '--latest']).catch(
      (error: CommandResult & { code: number }) => error,
    );
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('refusing to restore into') });
    expect(sortedIds(await bookingsOn(primary))).toEqual(sortedIds(live.values()));
  });

  it('events:replay against the restored database reports the bookings of the stream it lacks: those after the restore point', async () => {
    const replay = promisify(execFile);
    const env = { ...process.env, ...stack.serviceEnv };
    // Against the live database the stream matches.
    const againstLive = await replay(process.execPath, [REPLAY_CLI, '--json'], { env });
    expect(JSON.parse(againstLive.stdout)).toMatchObject({ matches: true, comparedWith: 'bookings' });

    const restoredUrl = new URL(stack.db.url);
    restoredUrl.port = String(restoredByName.port);
    const outcome = await replay(process.execPath, [REPLAY_CLI, '--json'], {
      env: { ...env, DATABASE_URL: restoredUrl.toString() },
    }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => error,
    );
    expect(outcome.code).toBe(1);
    const report = JSON.parse(outcome.stdout) as ReplayReport;
    const atPoint = countsByEvent(atRestorePoint);
    const current = countsByEvent(snapshot());
    // Per event: the stream's count (every booking made and cancelled, the latest included) against the
    // restored database's (up to the point); the difference is what happened after the point.
    const expected = eventIds
      .map((id) => ({ event_id: id, replayed: current.get(id) ?? 0, database: atPoint.get(id) ?? 0 }))
      .filter((entry) => entry.replayed !== entry.database);
    expect(expected.length).toBeGreaterThan(0);
    expect(report).toMatchObject({ matches: false, comparedWith: 'bookings', unpublished: 0, horizon: { from: null } });
    expect(report.mismatches).toEqual(expected);
  });
});
