import { connectDatabase } from '@booking/database';
import { TestDatabase } from '@booking/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DatabaseConnection } from '@booking/database';
import { BookingRepository } from '../src/booking/booking.repository.js';
import { Reservations } from '../src/booking/reservations.js';
import { salesStateAt } from '../src/booking/sales-window.js';

/** One replica's reservations: its own seats last seen, over `connection`. */
const replicaOn = (connection: DatabaseConnection) =>
  new Reservations(new BookingRepository(connection), { warn: (message) => console.warn(message) });

/** One correlation id per command, `tag-0`, `tag-1`, ... */
const correlations = (count: number, tag: string) => Array.from({ length: count }, (_, i) => `${tag}-${i}`);

/** A start deadline no test reaches: these tests are about the reservation rules, not deadlines. */
const LATER = Date.now() + 3_600_000;

/** 'booked', the reason of the refusal, or 'error', per request. */
const outcomes = (results: Awaited<ReturnType<Reservations['reserveMany']>>) =>
  results.map((r) => ('booking' in r ? 'booked' : 'rejection' in r ? r.rejection.reason : 'error'));

describe('Reservations over BookingRepository (real PostgreSQL)', () => {
  let db: TestDatabase;
  let reservations: Reservations;

  beforeAll(async () => {
    db = await TestDatabase.create();
    reservations = replicaOn(db.connection);
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** [correlation id, event type, a refusal's reason] of the outbox rows written for `tag-0`, `tag-1`, ... */
  const outboxRows = async (tag: string) =>
    (
      await db.query<{ type: string; correlation_id: string; reason: string | null }>(
        "SELECT type, correlation_id, data->>'reason' AS reason FROM outbox WHERE correlation_id LIKE $1 ORDER BY correlation_id",
        [`${tag}-%`],
      )
    ).rows.map((r) => [r.correlation_id, r.type, r.reason]);

  /** A one-seat event and a replica that sold it to `tag-1` (refusing `tag-2`), so it last saw the event sold out. */
  const soldOutByReplica = async (tag: string) => {
    const eventId = await db.createEvent(1);
    const replica = replicaOn(db.connection);
    await replica.reserveMany(
      [
        { event_id: eventId, user_id: `${tag}-1` },
        { event_id: eventId, user_id: `${tag}-2` },
      ],
      correlations(2, tag),
      LATER,
    );
    return { eventId, replica };
  };

  it("states the sales window's rule as the database does (event_sales_state), for any bounds and time", async () => {
    const BASE = Date.parse('2030-01-01T00:00:00Z');
    const time = fc.integer({ min: -10, max: 10 }).map((step) => BASE + step * 1_000);
    const bound = fc.option(time, { nil: null });
    const cases = fc.sample(fc.tuple(bound, bound, bound, time), 400);
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const { rows } = await db.query<{ state: string }>(
      `SELECT event_sales_state(o, c, s, a) AS state
         FROM unnest($1::timestamptz[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY
           AS t(o, c, s, a, n) ORDER BY n`,
      [0, 1, 2, 3].map((column) => cases.map((row) => iso(row[column]!))),
    );
    cases.forEach(([opensAt, closesAt, startsAt, at], i) => {
      const earliestClose = closesAt === null ? startsAt : startsAt === null ? closesAt : Math.min(closesAt, startsAt);
      expect(salesStateAt({ opensAt, closesAt: earliestClose }, at), JSON.stringify(cases[i])).toBe(rows[i]!.state);
    });
  });

  it('decides a mixed batch exactly as one-by-one reservations would', async () => {
    const small = await db.createEvent(2);
    const large = await db.createEvent(10);
    await db.query('INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)', [large, 'earlier']);
    const results = await reservations.reserveMany(
      [
        { event_id: small, user_id: 'a' },
        { event_id: 999_999, user_id: 'a' },
        { event_id: small, user_id: 'a' }, // same user twice in one batch
        { event_id: large, user_id: 'earlier' }, // booked before the batch
        { event_id: small, user_id: 'b' },
        { event_id: small, user_id: 'c' }, // third buyer of two seats
        { event_id: large, user_id: 'a' },
      ],
      correlations(7, 'mixed'),
      LATER,
    );
    expect(outcomes(results)).toEqual([
      'booked',
      'event_not_found',
      'already_booked',
      'already_booked',
      'booked',
      'sold_out',
      'booked',
    ]);
    const first = results[0]!;
    expect('booking' in first && first.booking).toMatchObject({ event_id: small, user_id: 'a' });
    expect(await db.count('bookings', 'event_id = $1', [small])).toBe(2);
    expect(await db.count('bookings', 'event_id = $1', [large])).toBe(2);

    // The same statement wrote one outbox row per request: created for winners, failed (with the reason) otherwise.
    const { rows } = await db.query<{
      type: string;
      correlation_id: string;
      data: { reason?: string; user_id: string };
    }>("SELECT type, correlation_id, data FROM outbox WHERE correlation_id LIKE 'mixed-%' ORDER BY correlation_id");
    expect(rows.map((r) => [r.correlation_id, r.type, r.data.reason ?? r.data.user_id])).toEqual([
      ['mixed-0', 'booking.created', 'a'],
      ['mixed-1', 'booking.failed', 'event_not_found'],
      ['mixed-2', 'booking.failed', 'already_booked'],
      ['mixed-3', 'booking.failed', 'already_booked'],
      ['mixed-4', 'booking.created', 'b'],
      ['mixed-5', 'booking.failed', 'sold_out'],
      ['mixed-6', 'booking.created', 'a'],
    ]);
  });

  it('stores awkward user ids verbatim through the array parameters', async () => {
    const eventId = await db.createEvent(10);
    const userIds = ['with,comma', 'with"quote', 'back\\slash', '{braces}', 'NULL', ' spaced ', 'ユーザー'];
    const results = await reservations.reserveMany(
      userIds.map((user_id) => ({ event_id: eventId, user_id })),
      correlations(userIds.length, 'awkward'),
      LATER,
    );
    expect(results.map((r) => 'booking' in r && r.booking.user_id)).toEqual(userIds);
    const { rows } = await db.query<{ user_id: string }>(
      'SELECT user_id FROM bookings WHERE event_id = $1 ORDER BY id',
      [eventId],
    );
    expect(rows.map((r) => r.user_id)).toEqual(userIds);
  });

  it('falls back to one-by-one reservations when a constraint fires inside a batch', async () => {
    const eventId = await db.createEvent(5);
    // A trigger that makes one user's insert fail with a unique violation, as a race the locks did not foresee would.
    await db.query(`
      CREATE FUNCTION reject_mallory() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.user_id = 'mallory' THEN RAISE unique_violation USING MESSAGE = 'simulated race'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER reject_mallory BEFORE INSERT ON bookings FOR EACH ROW EXECUTE FUNCTION reject_mallory();`);
    try {
      const results = await reservations.reserveMany(
        [
          { event_id: eventId, user_id: 'alice' },
          { event_id: eventId, user_id: 'mallory' },
          { event_id: eventId, user_id: 'bob' },
        ],
        correlations(3, 'fallback'),
        LATER,
      );
      expect(results.map((r) => ('booking' in r ? r.booking.user_id : r.rejection.reason))).toEqual([
        'alice',
        'already_booked',
        'bob',
      ]);
      expect(await db.count('bookings', 'event_id = $1', [eventId])).toBe(2);
      // The rolled-back batch left no outbox rows; the one-by-one retries wrote one each.
      expect(await outboxRows('fallback')).toEqual([
        ['fallback-0', 'booking.created', null],
        ['fallback-1', 'booking.failed', 'already_booked'],
        ['fallback-2', 'booking.created', null],
      ]);
    } finally {
      await db.query('DROP TRIGGER reject_mallory ON bookings; DROP FUNCTION reject_mallory()');
    }
  });

  it('two replicas batching over the same events at once: no oversold seat, no double booking, no deadlock', async () => {
    const seats = [3, 10, 40, 150, 1000];
    const eventIds: number[] = [];
    for (const total of seats) eventIds.push(await db.createEvent(total));
    const deadlocks = async () =>
      Number(
        (
          await db.query<{ n: string }>(
            'SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()',
          )
        ).rows[0]!.n,
      );
    const deadlocksBefore = await deadlocks();
    const replicas = [connectDatabase(db.url, { poolSize: 6 }), connectDatabase(db.url, { poolSize: 6 })];
    try {
      const repositories = replicas.map(replicaOn);
      // 48 batches of 25, events in shifting orders; every 7th request repeats an earlier user.
      const batches = Array.from({ length: 48 }, (_, b) =>
        Array.from({ length: 25 }, (_, i) => {
          const n = b * 25 + i;
          return { event_id: eventIds[(n * 7 + b) % eventIds.length]!, user_id: `u${n % 7 === 6 ? n - 5 : n}` };
        }),
      );
      const results = (
        await Promise.all(
          batches.map((batch, b) =>
            repositories[b % 2]!.reserveMany(batch, correlations(batch.length, `replicas-${b}`), LATER),
          ),
        )
      ).flat();
      const requests = batches.flat();
      for (const [index, eventId] of eventIds.entries()) {
        const asked = new Set(requests.filter((r) => r.event_id === eventId).map((r) => r.user_id)).size;
        const rows = await db.count('bookings', 'event_id = $1', [eventId]);
        expect(rows).toBe(Math.min(seats[index]!, asked));
        const counter = await db.query<{ booked_seats: number }>('SELECT booked_seats FROM events WHERE id = $1', [
          eventId,
        ]);
        expect(counter.rows[0]!.booked_seats).toBe(rows);
        const booked = results.filter((r, i) => 'booking' in r && requests[i]!.event_id === eventId).length;
        expect(booked).toBe(rows);
      }
      const doubles = await db.query(
        'SELECT event_id, user_id FROM bookings WHERE event_id = ANY($1) GROUP BY 1, 2 HAVING count(*) > 1',
        [eventIds],
      );
      expect(doubles.rowCount).toBe(0);
      expect(await deadlocks()).toBe(deadlocksBefore);
    } finally {
      await Promise.all(replicas.map((connection) => connection.close()));
    }
  });

  it('two replicas refusing a sold-out event while seats are freed: each freed seat sold once, one event per request', async () => {
    const eventId = await db.createEvent(20);
    const replicas = [connectDatabase(db.url, { poolSize: 6 }), connectDatabase(db.url, { poolSize: 6 })];
    try {
      const repositories = replicas.map(replicaOn);
      const users = (tag: string, count: number) =>
        Array.from({ length: count }, (_, i) => ({ event_id: eventId, user_id: `${tag}-${i}` }));
      // Both replicas sell seats, so both last saw the event sold out.
      await repositories[0]!.reserveMany(users('early-a', 12), correlations(12, 'early-a'), LATER);
      await repositories[1]!.reserveMany(users('early-b', 12), correlations(12, 'early-b'), LATER);
      const { rows: sold } = await db.query<{ id: number }>('SELECT id FROM bookings WHERE event_id = $1 LIMIT 5', [
        eventId,
      ]);
      const [results] = await Promise.all([
        Promise.all(
          Array.from({ length: 20 }, (_, b) =>
            repositories[b % 2]!.reserveMany(users(`resale-${b}`, 10), correlations(10, `resale-${b}`), LATER),
          ),
        ).then((batches) => batches.flat()),
        ...sold.map(({ id }, i) => repositories[i % 2]!.cancel(id, `freed-${i}`, LATER)),
      ]);
      const rows = await db.count('bookings', 'event_id = $1', [eventId]);
      expect(rows).toBeLessThanOrEqual(20);
      expect(outcomes(results).filter((outcome) => outcome === 'booked')).toHaveLength(rows - 15);
      expect(outcomes(results).filter((outcome) => outcome !== 'booked' && outcome !== 'sold_out')).toEqual([]);
      // Every request after the sell-out has exactly one outbox row, of the kind its answer says.
      const written = await db.query<{ correlation_id: string; type: string }>(
        "SELECT correlation_id, type FROM outbox WHERE correlation_id LIKE 'resale-%'",
      );
      expect(written.rows).toHaveLength(200);
      const typeOf = new Map(written.rows.map((row) => [row.correlation_id, row.type]));
      const requestIds = Array.from({ length: 20 }, (_, b) => correlations(10, `resale-${b}`)).flat();
      expect(requestIds.map((id) => typeOf.get(id))).toEqual(
        outcomes(results).map((outcome) => (outcome === 'booked' ? 'booking.created' : 'booking.failed')),
      );
      // A seat the concurrent batches left free goes to the next batch: a refusal needs a snapshot without one.
      for (const [r, repository] of repositories.entries()) {
        await repository.reserveMany(users(`last-${r}`, 10), correlations(10, `last-${r}`), LATER);
      }
      expect(await db.count('bookings', 'event_id = $1', [eventId])).toBe(20);
      const counter = await db.query<{ booked_seats: number }>('SELECT booked_seats FROM events WHERE id = $1', [
        eventId,
      ]);
      expect(counter.rows[0]!.booked_seats).toBe(20);
    } finally {
      await Promise.all(replicas.map((connection) => connection.close()));
    }
  });

  it('writes a batch on the seats it last saw in one statement, without reading first', async () => {
    const eventId = await db.createEvent(10);
    const replica = replicaOn(db.connection);
    const execute = vi.spyOn(db.connection.db, 'execute');
    try {
      await replica.reserveMany(
        [
          { event_id: eventId, user_id: 'seen-1' },
          { event_id: eventId, user_id: 'seen-2' },
        ],
        correlations(2, 'seen'),
        LATER,
      );
      expect(execute).toHaveBeenCalledTimes(2); // the event was new to this replica: read, then write
      execute.mockClear();
      const results = await replica.reserveMany(
        [
          { event_id: eventId, user_id: 'unread-1' },
          { event_id: eventId, user_id: 'unread-1' },
          { event_id: eventId, user_id: 'unread-2' },
        ],
        correlations(3, 'unread'),
        LATER,
      );
      expect(execute).toHaveBeenCalledTimes(1);
      expect(outcomes(results)).toEqual(['booked', 'already_booked', 'booked']);
    } finally {
      execute.mockRestore();
    }
    expect(await db.count('bookings', 'event_id = $1', [eventId])).toBe(4);
    expect(await outboxRows('unread')).toEqual([
      ['unread-0', 'booking.created', null],
      ['unread-1', 'booking.failed', 'already_booked'],
      ['unread-2', 'booking.created', null],
    ]);
  });

  it('refuses a batch for an event it saw sold out in one statement, which reads and writes', async () => {
    const { eventId, replica } = await soldOutByReplica('sellout');
    const execute = vi.spyOn(db.connection.db, 'execute');
    try {
      const results = await replica.reserveMany(
        [
          { event_id: eventId, user_id: 'late-1' },
          { event_id: eventId, user_id: 'late-1' },
          { event_id: eventId, user_id: 'late-2' },
        ],
        correlations(3, 'late'),
        LATER,
      );
      expect(execute).toHaveBeenCalledTimes(1);
      expect(outcomes(results)).toEqual(['sold_out', 'sold_out', 'sold_out']);
    } finally {
      execute.mockRestore();
    }
    expect(await outboxRows('late')).toEqual([
      ['late-0', 'booking.failed', 'sold_out'],
      ['late-1', 'booking.failed', 'sold_out'],
      ['late-2', 'booking.failed', 'sold_out'],
    ]);
  });

  it('refuses a batch for an event it saw sold out that no longer exists as not found', async () => {
    const { eventId, replica } = await soldOutByReplica('gone');
    // Not through the API, which deletes no event; by hand. The replica still remembers it sold out.
    await db.query('DELETE FROM events WHERE id = $1', [eventId]);
    const results = await replica.reserveMany(
      [
        { event_id: eventId, user_id: 'after-1' },
        { event_id: eventId, user_id: 'after-2' },
      ],
      correlations(2, 'after'),
      LATER,
    );
    expect(outcomes(results)).toEqual(['event_not_found', 'event_not_found']);
    expect(await outboxRows('after')).toEqual([
      ['after-0', 'booking.failed', 'event_not_found'],
      ['after-1', 'booking.failed', 'event_not_found'],
    ]);
  });

  it('decides on what it read when a batch refused for want of seats holds a user who has booked', async () => {
    const { eventId, replica: a } = await soldOutByReplica('a');
    // A saw the event sold out, so it expects to refuse a-1 for want of a seat; the statement finds a-1's booking.
    expect(
      outcomes(
        await a.reserveMany(
          [
            { event_id: eventId, user_id: 'a-1' },
            { event_id: eventId, user_id: 'a-3' },
          ],
          correlations(2, 'held-a2'),
          LATER,
        ),
      ),
    ).toEqual(['already_booked', 'sold_out']);
    expect(await outboxRows('held-a2')).toEqual([
      ['held-a2-0', 'booking.failed', 'already_booked'],
      ['held-a2-1', 'booking.failed', 'sold_out'],
    ]);
  });

  it('answers right when what a replica last saw is out of date', async () => {
    const eventId = await db.createEvent(5);
    const [a, b] = [replicaOn(db.connection), replicaOn(db.connection)];
    await a.reserveMany(
      [
        { event_id: eventId, user_id: 'a-1' },
        { event_id: eventId, user_id: 'a-2' },
      ],
      correlations(2, 'stale-a'),
      LATER,
    );
    await b.reserveMany(
      [
        { event_id: eventId, user_id: 'b-1' },
        { event_id: eventId, user_id: 'b-2' },
      ],
      correlations(2, 'stale-b'),
      LATER,
    );
    // A still counts three seats and no booking of b-1's: its unread write fails, and the batch is decided on a read.
    expect(
      outcomes(
        await a.reserveMany(
          [
            { event_id: eventId, user_id: 'b-1' },
            { event_id: eventId, user_id: 'a-3' },
            { event_id: eventId, user_id: 'a-4' },
          ],
          correlations(3, 'stale-a2'),
          LATER,
        ),
      ),
    ).toEqual(['already_booked', 'booked', 'sold_out']);
    // Now A counts no seat left; a seat B frees is still sold, since a refusal always comes from a read.
    const { rows } = await db.query<{ id: number }>('SELECT id FROM bookings WHERE event_id = $1 AND user_id = $2', [
      eventId,
      'b-2',
    ]);
    expect(await b.cancel(rows[0]!.id, 'stale-cancel', LATER)).toBeDefined();
    expect(
      outcomes(
        await a.reserveMany(
          [
            { event_id: eventId, user_id: 'a-5' },
            { event_id: eventId, user_id: 'a-6' },
          ],
          correlations(2, 'stale-a3'),
          LATER,
        ),
      ),
    ).toEqual(['booked', 'sold_out']);
    // The statement that found the freed seat wrote nothing: one outbox row per request.
    expect(await outboxRows('stale-a3')).toEqual([
      ['stale-a3-0', 'booking.created', null],
      ['stale-a3-1', 'booking.failed', 'sold_out'],
    ]);
    expect(await db.count('bookings', 'event_id = $1', [eventId])).toBe(5);
    const counter = await db.query<{ booked_seats: number }>('SELECT booked_seats FROM events WHERE id = $1', [
      eventId,
    ]);
    expect(counter.rows[0]!.booked_seats).toBe(5);
  });

  it('lets other errors through', async () => {
    const eventId = await db.createEvent(5);
    await expect(
      reservations.reserveMany(
        [
          { event_id: eventId, user_id: 'ok' },
          { event_id: eventId, user_id: 'x'.repeat(300) }, // longer than the column: not a booking rule
        ],
        correlations(2, 'error'),
        LATER,
      ),
    ).rejects.toThrow();
    expect(await db.count('bookings', 'event_id = $1', [eventId])).toBe(0);
    expect((await db.query("SELECT 1 FROM outbox WHERE correlation_id LIKE 'error-%'")).rowCount).toBe(0);
  });
});
