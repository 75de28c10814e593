import { createMetricsRegistry } from '@booking/observability';
import { loadBookingServiceConfig } from '../src/config.js';
import { OutboxRelay } from '../src/outbox/outbox-relay.js';
import { readBookingEvents } from '../src/replay/read-booking-events.js';
import { BookingEventType, ensureBookingEventsStream, namesFor } from '@booking/shared';
import { PrivateNatsServer, TestDatabase, waitUntil } from '@booking/testing';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatuses, Stack, type ApiResponse } from '../../api-gateway/test/support/stack.js';

const NAMES = namesFor('');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('outbox relays racing', () => {
  let db: TestDatabase;
  let nats: PrivateNatsServer;
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    [db, nats] = await Promise.all([TestDatabase.create(), PrivateNatsServer.start()]);
    for (let i = 0; i < 3; i++) connections.push(await connect({ servers: nats.url }));
    await ensureBookingEventsStream(connections[0]!, NAMES);
  });
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()));
    await Promise.all([nats?.dispose(), db?.drop()]);
  });

  const config = () =>
    loadBookingServiceConfig({
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      OUTBOX_BATCH_SIZE: '20',
      OUTBOX_POLL_INTERVAL_MS: '60000',
    });

  async function insertOutboxRows(count: number, tag: string): Promise<void> {
    await db.query(
      `INSERT INTO outbox (type, event_id, correlation_id, data)
       SELECT 'booking.failed', 1, $2::text, jsonb_build_object('event_id', 1, 'user_id', $2::text || g, 'reason', 'sold_out',
              'message', 'No available seats for event 1')
       FROM generate_series(1, $1) g`,
      [count, tag],
    );
  }

  it('three relays draining the same outbox publish every row exactly once', async () => {
    await insertOutboxRows(1000, 'race-');
    const relays = connections.map(
      (connection) => new OutboxRelay(config(), db.connection, connection, createMetricsRegistry()),
    );
    relays.forEach((relay) => relay.wake());
    await Promise.all(relays.map((relay) => relay.idle()));

    const published = relays.map((relay) => relay.publishedCount);
    // Publish attempts, not stream contents: JetStream de-duplication would hide a double publish.
    expect(published.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(published.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect((await db.query('SELECT 1 FROM outbox_pending')).rowCount).toBe(0);
    const { events } = await readBookingEvents(connections[0]!, { stream: NAMES.eventsStream });
    expect(events).toHaveLength(1000);
    expect(new Set(events.map((e) => e.event.id)).size).toBe(1000);
  });

  it('reports the backlog: rows still queued and the age of the first in line', async () => {
    const relay = new OutboxRelay(config(), db.connection, connections[0]!, createMetricsRegistry());
    relay.wake();
    await relay.idle();
    expect(await relay.backlog()).toEqual({ pending: 0, oldestAgeSeconds: 0 });
    await insertOutboxRows(5, 'backlog-');
    await db.query(
      `UPDATE outbox SET occurred_at = now() - interval '30 seconds'
        WHERE position = (SELECT min(position) FROM outbox_pending)`,
    );
    const backlog = await relay.backlog();
    expect(backlog.pending).toBe(5);
    expect(backlog.oldestAgeSeconds).toBeGreaterThanOrEqual(30);
    expect(backlog.oldestAgeSeconds).toBeLessThan(60);
    relay.wake();
    await relay.idle();
    expect(await relay.backlog()).toEqual({ pending: 0, oldestAgeSeconds: 0 });
  });

  it('a re-send of rows a crashed relay had published is dropped by the message id', async () => {
    const before = (await readBookingEvents(connections[0]!, { stream: NAMES.eventsStream })).events.length;
    await insertOutboxRows(50, 'crashed-');
    // A relay published these, then died before dequeuing them: they are still pending.
    const { rows } = await db.query<{ id: string; type: string }>(
      'SELECT id, type FROM outbox JOIN outbox_pending USING (position) ORDER BY position',
    );
    const js = jetstream(connections[1]!);
    for (const row of rows) await js.publish(row.type, JSON.stringify({ id: row.id }), { msgID: row.id });
    const relay = new OutboxRelay(config(), db.connection, connections[2]!, createMetricsRegistry());
    relay.wake();
    await relay.idle();
    expect(relay.publishedCount).toBe(50);
    expect(
      (await readBookingEvents(connections[0]!, { stream: NAMES.eventsStream })).events.length +
        (await malformedCount()),
    ).toBe(before + 50);
  });

  it('a row JetStream refuses goes back in the queue; the rest of its claim is published and dequeued', async () => {
    const before = (await readBookingEvents(connections[0]!, { stream: NAMES.eventsStream })).events.length;
    await insertOutboxRows(3, 'partial-');
    // No stream captures this subject: JetStream answers 503 for it alone.
    const { rows } = await db.query<{ position: string }>(
      `UPDATE outbox SET type = 'booking.unrouted' WHERE position = (SELECT min(position) FROM outbox_pending)
       RETURNING position`,
    );
    const relay = new OutboxRelay(config(), db.connection, connections[0]!, createMetricsRegistry());
    await expect(relay.publishBatch()).rejects.toThrow(/JetStream refused the message: 503/);
    expect(relay.publishedCount).toBe(2);
    const pending = await db.query<{ position: string }>('SELECT position FROM outbox_pending');
    expect(pending.rows).toEqual([{ position: rows[0]!.position }]);
    expect((await readBookingEvents(connections[0]!, { stream: NAMES.eventsStream })).events.length).toBe(before + 2);
    await db.query('DELETE FROM outbox_pending');
  });

  async function malformedCount(): Promise<number> {
    return (await readBookingEvents(connections[0]!, { stream: NAMES.eventsStream })).malformed;
  }
});

describe('NATS outage in the middle of a burst of reservations', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 1, processReplicas: 1 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('every committed booking ends with exactly one booking.created; a 503 booked nothing, a 504 says the outcome is unknown', async () => {
    const eventId = await stack.db.createEvent(100_000);
    const responses: (ApiResponse & { user: string })[] = [];
    let stop = false;
    let next = 0;
    const reserve = async (user: string) => ({ ...(await stack.reserve({ event_id: eventId, user_id: user })), user });
    const load = (async () => {
      while (!stop) {
        const wave = Array.from({ length: 20 }, () => reserve(`u-${next++}`));
        responses.push(...(await Promise.all(wave)));
        await sleep(10);
      }
    })();
    // Driven by what the clients see, not by timing: the machine may be slow.
    const seen = (status: number) => responses.filter((r) => r.status === status).length;
    await waitUntil(async () => seen(201) >= 20, 30_000, 'bookings before the outage');
    await stack.nats.stop();
    await waitUntil(async () => seen(503) >= 20, 30_000, '503s during the outage');
    const before = seen(201);
    await stack.nats.resume();
    await waitUntil(async () => seen(201) >= before + 40, 30_000, 'bookings after the outage');
    stop = true;
    await load;

    const statuses = countStatuses(responses);
    console.info(`NATS outage burst: ${JSON.stringify(statuses)}`);
    expect(Object.keys(statuses).every((status) => ['201', '503', '504'].includes(status))).toBe(true);
    expect(statuses[503]).toBeGreaterThan(0);
    expect(statuses[201]).toBeGreaterThan(0);
    for (const response of responses.filter((r) => r.status === 504)) expect(response.body.outcome).toBe('unknown');

    await stack.outboxDrained(30_000);
    const { rows } = await stack.db.query<{ id: number; user_id: string }>(
      'SELECT id, user_id FROM bookings WHERE event_id = $1',
      [eventId],
    );
    const booked = new Set(rows.map((row) => row.user_id));
    // Every 201 has its row; no 503 has one; a 504 may or may not.
    expect(responses.filter((r) => r.status === 201 && !booked.has(r.user))).toEqual([]);
    expect(responses.filter((r) => r.status === 503 && booked.has(r.user))).toEqual([]);
    expect(rows.length).toBeLessThanOrEqual(seen(201) + seen(504));
    const created = (await stack.streamEvents())
      .map((stored) => stored.event)
      .filter((event) => event.type === BookingEventType.created && event.data.event_id === eventId);
    const bookingIds = created.map((event) => (event.type === BookingEventType.created ? event.data.booking_id : 0));
    expect(bookingIds.length).toBe(new Set(bookingIds).size);
    expect(bookingIds.sort((a, b) => a - b)).toEqual(rows.map((row) => row.id).sort((a, b) => a - b));
  });
});
