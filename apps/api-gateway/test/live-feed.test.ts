import { BookingEventType, BookingSubjects } from '@booking/shared';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../src/app.js';
import { API_SECURITY_HEADERS } from '../src/common/security-headers.js';
import { loadGatewayConfig } from '../src/config.js';
import { SseClient, type SseMessage } from './support/sse.js';
import { Stack } from './support/stack.js';

const LIVE_PATH = '/api/events/live';

/** A booking event as the outbox relay publishes it (only data.event_id matters to the feed). */
const envelope = (type: string, eventId: number, bookingId = 1) =>
  JSON.stringify({
    id: crypto.randomUUID(),
    type,
    occurred_at: new Date().toISOString(),
    correlation_id: 'test',
    data: { booking_id: bookingId, event_id: eventId, user_id: 'someone' },
  });

const seatsOf = (eventId: number) => (message: SseMessage) =>
  message.event === 'seats' && (JSON.parse(message.data) as { event_id: number }).event_id === eventId;

describe('live seats feed (NATS booking events → SSE)', () => {
  let stack: Stack;
  let nats: NatsConnection;
  const streams: SseClient[] = [];

  const open = async () => {
    const stream = await SseClient.open(stack.baseUrl + LIVE_PATH);
    streams.push(stream);
    return stream;
  };

  beforeAll(async () => {
    stack = await Stack.start({ gatewayEnv: { LIVE_COALESCE_MS: '100' } });
    nats = await connect({ servers: stack.nats.url });
  });
  afterAll(async () => {
    streams.forEach((stream) => stream.close());
    await nats?.close();
    await stack?.stop();
  });

  // First: the tests below leave their streams open.
  it('looks nothing up while no stream is open, and starts with the first one', async () => {
    const eventId = await stack.db.createEvent(4);
    let lookups = 0;
    const spy = nats.subscribe(BookingSubjects.seatsLeft, {
      callback: (_error, message) => {
        if (message.json<{ data: { ids: number[] } }>().data.ids.includes(eventId)) lookups++;
      },
    });
    await nats.flush();
    for (let i = 0; i < 20; i++) nats.publish(BookingEventType.created, envelope(BookingEventType.created, eventId, i));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(lookups).toBe(0);
    const stream = await open();
    nats.publish(BookingEventType.created, envelope(BookingEventType.created, eventId));
    expect(JSON.parse((await stream.waitFor(seatsOf(eventId), 1_000)).data)).toMatchObject({ available_seats: 4 });
    expect(lookups).toBe(1);
    spy.unsubscribe();
  });

  it('is a server-sent events stream that proxies do not buffer', async () => {
    const stream = await open();
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.response.headers.get('x-accel-buffering')).toBe('no');
    // Written past Fastify's reply, yet with its headers.
    expect(stream.response.headers.get('content-security-policy')).toBe(
      API_SECURITY_HEADERS['content-security-policy'],
    );
    expect(stream.response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('pushes the new seats left to every open stream within a second of booking.created', async () => {
    const eventId = await stack.db.createEvent(5);
    const [first, second] = [await open(), await open()];
    await stack.db.query(`INSERT INTO bookings (event_id, user_id) VALUES ($1, 'a'), ($1, 'b')`, [eventId]);
    const started = performance.now();
    nats.publish(BookingEventType.created, envelope(BookingEventType.created, eventId));
    const messages = await Promise.all([
      first.waitFor(seatsOf(eventId), 1_000),
      second.waitFor(seatsOf(eventId), 1_000),
    ]);
    const latencyMs = performance.now() - started;
    for (const message of messages) {
      expect(JSON.parse(message.data)).toEqual({ event_id: eventId, available_seats: 3, total_seats: 5 });
    }
    expect(latencyMs).toBeLessThan(1_000);
    console.log(`live feed: booking event → both streams in ${latencyMs.toFixed(0)} ms`);
  });

  it('pushes the freed seat on booking.cancelled', async () => {
    const eventId = await stack.db.createEvent(1);
    await stack.db.query(`INSERT INTO bookings (event_id, user_id) VALUES ($1, 'a')`, [eventId]);
    const stream = await open();
    await stack.db.query(`DELETE FROM bookings WHERE event_id = $1`, [eventId]);
    nats.publish(BookingEventType.cancelled, envelope(BookingEventType.cancelled, eventId));
    const message = await stream.waitFor(seatsOf(eventId), 1_000);
    expect(JSON.parse(message.data)).toEqual({ event_id: eventId, available_seats: 1, total_seats: 1 });
  });

  it('reflects reservations made through the API', async () => {
    const eventId = await stack.db.createEvent(3);
    const stream = await open();
    const reserved = await stack.reserve({ event_id: eventId, user_id: 'api-user' });
    expect(reserved.status).toBe(201);
    nats.publish(BookingEventType.created, envelope(BookingEventType.created, eventId, reserved.body.id as number));
    const message = await stream.waitFor(seatsOf(eventId), 1_000);
    expect(JSON.parse(message.data)).toMatchObject({ available_seats: 2 });
  });

  it('coalesces a burst of events into one lookup per window, ending on the true figure', async () => {
    const eventId = await stack.db.createEvent(100);
    const stream = await open();
    const values = Array.from({ length: 40 }, (_, i) => `($1, 'burst-${i}')`).join(', ');
    await stack.db.query(`INSERT INTO bookings (event_id, user_id) VALUES ${values}`, [eventId]);
    for (let i = 0; i < 40; i++) nats.publish(BookingEventType.created, envelope(BookingEventType.created, eventId, i));
    await stream.waitFor(seatsOf(eventId), 1_000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const updates = stream.received.filter(seatsOf(eventId)).map((message) => JSON.parse(message.data));
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.length).toBeLessThanOrEqual(2);
    expect(updates.at(-1)).toEqual({ event_id: eventId, available_seats: 60, total_seats: 100 });
  });

  it('looks up every event changed in one window with one query', async () => {
    const ids = [await stack.db.createEvent(10), await stack.db.createEvent(20), await stack.db.createEvent(30)];
    const stream = await open();
    const queries: number[][] = [];
    const spy = nats.subscribe(BookingSubjects.seatsLeft, {
      callback: (_error, message) => queries.push(message.json<{ data: { ids: number[] } }>().data.ids),
    });
    await nats.flush();
    for (const id of ids)
      for (let i = 0; i < 5; i++) nats.publish(BookingEventType.created, envelope(BookingEventType.created, id, i));
    for (const [i, id] of ids.entries()) {
      expect(JSON.parse((await stream.waitFor(seatsOf(id), 1_000)).data)).toEqual({
        event_id: id,
        available_seats: 10 * (i + 1),
        total_seats: 10 * (i + 1),
      });
    }
    expect(queries).toEqual([ids]);
    spy.unsubscribe();
  });

  it('event.seats answers only for events that exist, and refuses a query without ids', async () => {
    const eventId = await stack.db.createEvent(7);
    const ask = async (data: unknown) =>
      (
        await nats.request(
          BookingSubjects.seatsLeft,
          JSON.stringify({ pattern: BookingSubjects.seatsLeft, data, id: '1' }),
          {
            timeout: 2_000,
          },
        )
      ).json<{ response: unknown }>().response;
    expect(await ask({ ids: [eventId, 987_654] })).toEqual({
      ok: true,
      data: [{ event_id: eventId, available_seats: 7, total_seats: 7 }],
    });
    expect(await ask({ ids: [] })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION', message: expect.stringMatching(/ids/) },
    });
  });

  it('ignores malformed messages and unknown events, and keeps going', async () => {
    const eventId = await stack.db.createEvent(2);
    const stream = await open();
    nats.publish(BookingEventType.created, 'not json');
    nats.publish(BookingEventType.created, JSON.stringify({ data: { event_id: 'abc' } }));
    nats.publish(BookingEventType.cancelled, JSON.stringify({ nothing: true }));
    nats.publish(BookingEventType.created, envelope(BookingEventType.created, 987_654));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stream.received.filter((message) => message.event === 'seats')).toEqual([]);
    nats.publish(BookingEventType.created, envelope(BookingEventType.created, eventId));
    expect(JSON.parse((await stream.waitFor(seatsOf(eventId), 1_000)).data)).toMatchObject({ available_seats: 2 });
  });

  it('does not react to other booking subjects', async () => {
    const eventId = await stack.db.createEvent(2);
    const stream = await open();
    nats.publish(BookingEventType.failed, envelope(BookingEventType.failed, eventId));
    nats.publish('booking.reserve.something', envelope(BookingEventType.created, eventId));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stream.received.filter(seatsOf(eventId))).toEqual([]);
  });

  it('bounds the number of open streams with a clear 503, and frees a place when one closes', async () => {
    const gateway = await startGateway(loadGatewayConfig({ ...stack.gatewayEnv, LIVE_MAX_STREAMS: '2' }), {
      logger: false,
    });
    const url = (await gateway.getUrl()).replace('[::1]', '127.0.0.1') + LIVE_PATH;
    try {
      const [first, second] = [await SseClient.open(url), await SseClient.open(url)];
      const refused = await fetch(url);
      expect(refused.status).toBe(503);
      expect(await refused.json()).toEqual({
        message: 'Too many live connections right now; try again later',
        error: 'Service Unavailable',
        statusCode: 503,
      });
      first.close();
      await expect
        .poll(async () => {
          const retry = await SseClient.open(url);
          retry.close();
          return retry.response.status;
        })
        .toBe(200);
      second.close();
    } finally {
      await gateway.close();
    }
  });

  it('sends heartbeats and ends open streams when the gateway shuts down', async () => {
    const gateway = await startGateway(loadGatewayConfig({ ...stack.gatewayEnv, LIVE_HEARTBEAT_MS: '1000' }), {
      logger: false,
    });
    const url = (await gateway.getUrl()).replace('[::1]', '127.0.0.1');
    const stream = await SseClient.open(url + LIVE_PATH);
    await stream.waitFor((message) => message.event === 'comment', 2_500);
    await gateway.close();
    await stream.waitForEnd(5_000);
    expect(stream.closed).toBe(true);
  });
});
