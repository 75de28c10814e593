import { TcpProxy, waitUntil } from '@booking/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../support/stack.js';

/**
 * A command whose answer is lost on the way back: PostgreSQL carried it out
 * (or not), but the booking service never heard. The client gets a 504 that
 * says the outcome is unknown; its retry with the same Idempotency-Key gets
 * the real outcome: the booking or cancellation the first attempt made, never
 * a 409 or 404 for its own work, and a second booking never.
 */
describe('outcome unknown, then learnt by retrying with the same Idempotency-Key', () => {
  let stack: Stack;
  let proxy: TcpProxy;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 0 });
    proxy = await TcpProxy.start(5432);
    await stack.startProcessReplica({
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
      DATABASE_URL: proxy.urlFor(stack.db.url),
    });
  });
  afterEach(() => proxy.resume());
  afterAll(async () => {
    await stack?.stop();
    await proxy?.stop();
  });

  /** The advisory lock a cancellation's COMMIT waits on in the last test. */
  const COMMIT_GATE = 4242;
  const key = (name: string) => ({ 'idempotency-key': `${name}-${Date.now()}` });

  it('a reservation PostgreSQL committed while its answer was lost: the retry gets that booking as its 201', async () => {
    const eventId = await stack.db.createEvent(10);
    const headers = key('lost-answer');
    const body = { event_id: eventId, user_id: 'lost-answer' };
    proxy.hang(['down']);
    const first = await stack.reserve(body, headers);
    proxy.resume();
    expect(first.status).toBe(504);
    expect(first.body.outcome).toBe('unknown');
    const { rows } = await stack.db.query<{ id: number }>('SELECT id FROM bookings WHERE event_id = $1', [eventId]);
    expect(rows).toHaveLength(1);

    const retry = await stack.reserve(body, headers);
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ id: rows[0]!.id, event_id: eventId, user_id: 'lost-answer' });
    const replay = await stack.reserve(body, headers);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(retry.body);
    // Another request (another key) of the same user is a duplicate, as always.
    expect((await stack.reserve(body, key('other'))).status).toBe(409);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
  });

  it('a reservation that reached PostgreSQL only after its deadline booked nothing: the retry books', async () => {
    const eventId = await stack.db.createEvent(10);
    const headers = key('late-statement');
    const body = { event_id: eventId, user_id: 'late-statement' };
    proxy.hang();
    const sentAt = Date.now();
    const first = await stack.reserve(body, headers);
    expect(first.status).toBe(504);
    expect(first.body.outcome).toBe('unknown');
    // Everything held, the statement included, is delivered once the gateway's 5 s have passed: after the
    // statement's start deadline, so it writes nothing.
    await new Promise((resolve) => setTimeout(resolve, sentAt + 5_000 - Date.now()));
    proxy.resume();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(0);

    const retry = await stack.reserve(body, headers);
    expect(retry.status).toBe(201);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(1);
  });

  it('a cancellation PostgreSQL committed while its answer was lost: the retry gets that cancellation as its 200', async () => {
    const eventId = await stack.db.createEvent(10);
    const booked = await stack.reserve({ event_id: eventId, user_id: 'cancel-lost' });
    expect(booked.status).toBe(201);
    const headers = { ...key('cancel-lost'), 'booking-access-key': booked.headers.get('booking-access-key')! };
    // The cancel first reads the booking (whose owner decides), then deletes it and serves the waitlist in
    // one transaction; only the answer to its COMMIT must be lost. A deferred trigger of this test's database
    // holds the COMMIT on an advisory lock until it is seen waiting; then answers are held and the lock released.
    await stack.db.query(`
      CREATE FUNCTION test_commit_gate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_advisory_xact_lock_shared(${COMMIT_GATE}); RETURN NULL; END $$;
      CREATE CONSTRAINT TRIGGER test_commit_gate AFTER DELETE ON bookings
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_commit_gate();`);
    const gate = await stack.db.connection.pool.connect();
    let first;
    try {
      await gate.query('SELECT pg_advisory_lock($1)', [COMMIT_GATE]);
      const cancelling = stack.cancel(booked.body.id, headers);
      await waitUntil(
        async () =>
          (
            await stack.db.query(
              "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'advisory' AND query ILIKE 'commit%'",
            )
          ).rowCount === 1,
        5_000,
        'the COMMIT waiting at the gate',
      );
      proxy.hang(['down']);
      await gate.query('SELECT pg_advisory_unlock($1)', [COMMIT_GATE]);
      first = await cancelling;
    } finally {
      gate.release();
      proxy.resume();
      await stack.db.query('DROP TRIGGER test_commit_gate ON bookings; DROP FUNCTION test_commit_gate()');
    }
    expect(first.status).toBe(504);
    expect(first.body.outcome).toBe('unknown');
    expect(await stack.db.count('bookings', 'id = $1', [booked.body.id])).toBe(0);

    const retry = await stack.cancel(booked.body.id, headers);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({
      id: booked.body.id,
      user_id: 'cancel-lost',
      created_at: booked.body.created_at,
    });
    expect(retry.body.cancelled_at).toEqual(expect.any(String));
    const otherRequest = { ...headers, ...key('other-cancel') };
    expect((await stack.cancel(booked.body.id, otherRequest)).status).toBe(404);
  });
});
