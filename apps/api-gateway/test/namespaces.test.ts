import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseClient, type SseMessage } from './support/sse.js';
import { countStatuses, Stack } from './support/stack.js';

/**
 * Two deployments on one nats-server and one redis-server, each with its own
 * database: one without a namespace (the plain names), one in namespace `blue`.
 * Both databases hold an event with the same id, so a request or an event that
 * reached the other deployment would change the other's figures.
 */
describe('two deployments sharing NATS and Redis (BOOKING_NAMESPACE)', () => {
  let plain: Stack;
  let blue: Stack;
  let nats: NatsConnection;
  let redis: Redis;
  let eventId: number;

  beforeAll(async () => {
    plain = await Stack.start();
    blue = await Stack.start({ namespace: 'blue', shareWith: plain });
    nats = await connect({ servers: plain.nats.url });
    redis = new Redis(plain.redis.url, { maxRetriesPerRequest: 1 });
    eventId = await plain.db.createEvent(3);
    expect(await blue.db.createEvent(1)).toBe(eventId);
  });
  afterAll(async () => {
    redis?.disconnect();
    await nats?.close();
    await blue?.stop();
    await plain?.stop();
  });

  it('answers each gateway from its own booking service only', async () => {
    // Subscribed on the other deployment's subjects, neither service would see these.
    let seenOnPlainSubjects = 0;
    const spy = nats.subscribe('booking.>', { callback: () => seenOnPlainSubjects++ });
    const reserveAll = (stack: Stack, who: string) =>
      Promise.all(Array.from({ length: 6 }, (_, i) => stack.reserve({ event_id: eventId, user_id: `${who}-${i}` })));
    const [onBlue] = await Promise.all([reserveAll(blue, 'b'), nats.flush()]);
    expect(seenOnPlainSubjects).toBe(0);
    const onPlain = await reserveAll(plain, 'p');
    spy.unsubscribe();

    expect(countStatuses(onBlue)).toEqual({ 201: 1, 409: 5 });
    expect(countStatuses(onPlain)).toEqual({ 201: 3, 409: 3 });
    expect(await blue.db.count('bookings')).toBe(1);
    expect(await plain.db.count('bookings')).toBe(3);
    expect(await blue.db.count('bookings', "user_id LIKE 'p-%'")).toBe(0);
    expect(await plain.db.count('bookings', "user_id LIKE 'b-%'")).toBe(0);
    expect(seenOnPlainSubjects).toBeGreaterThan(0);
  });

  it("puts each deployment's events on its own stream, under its own subjects", async () => {
    await Promise.all([plain.outboxDrained(), blue.outboxDrained()]);
    // JetStream's API as NATS requests (the gateway has no JetStream client).
    const api = async <T>(subject: string) =>
      (await nats.request(`$JS.API.${subject}`, '', { timeout: 5_000 })).json<T>();
    const { streams } = await api<{ streams: string[] }>('STREAM.NAMES');
    expect(streams.sort()).toEqual(['BOOKING_EVENTS', 'BOOKING_EVENTS_blue']);
    const { config } = await api<{ config: { subjects: string[] } }>('STREAM.INFO.BOOKING_EVENTS_blue');
    expect(config.subjects.sort()).toEqual([
      'blue.booking.cancelled',
      'blue.booking.created',
      'blue.booking.failed',
      'blue.event.updated',
    ]);

    const [plainEvents, blueEvents] = await Promise.all([plain.streamEvents(), blue.streamEvents()]);
    const users = (events: typeof plainEvents) => events.map(({ event }) => event.data.user_id).sort();
    expect(users(blueEvents)).toEqual(['b-0', 'b-1', 'b-2', 'b-3', 'b-4', 'b-5']);
    expect(users(plainEvents)).toEqual(['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5']);
    expect(new Set(blueEvents.map(({ subject }) => subject.split('.')[0]))).toEqual(new Set(['blue']));
    expect(new Set(plainEvents.map(({ subject }) => subject.split('.')[0]))).toEqual(new Set(['booking']));
  });

  it("keeps each gateway's Redis keys apart: one Idempotency-Key on both books on both", async () => {
    const key = { 'idempotency-key': randomUUID() };
    const both = await Promise.all(
      [plain, blue].map(async (stack) => {
        const anotherEvent = await stack.db.createEvent(5);
        return stack.reserve({ event_id: anotherEvent, user_id: 'same-key' }, key);
      }),
    );
    expect(both.map((r) => r.status)).toEqual([201, 201]);
    expect(both.map((r) => r.headers.get('idempotent-replayed'))).toEqual([null, null]);
    expect(await plain.db.count('bookings', "user_id = 'same-key'")).toBe(1);
    expect(await blue.db.count('bookings', "user_id = 'same-key'")).toBe(1);

    const keys = await redis.keys('*');
    const idempotency = (prefix: string) => keys.filter((k) => k.startsWith(`${prefix}idem:`));
    expect(idempotency('booking:gateway:')).toHaveLength(1);
    expect(idempotency('booking:blue:gateway:')).toHaveLength(1);
    expect(keys.filter((k) => !k.startsWith('booking:gateway:') && !k.startsWith('booking:blue:gateway:'))).toEqual([]);
    expect(keys.some((k) => k.startsWith('booking:blue:gateway:rl:'))).toBe(true);
  });
  it("updates each gateway's live seats feed from its own deployment's events only", async () => {
    const [plainEvent, blueEvent] = [await plain.db.createEvent(10), await blue.db.createEvent(10)];
    expect(blueEvent).toBe(plainEvent);
    const seats = (message: SseMessage) => message.event === 'seats' && JSON.parse(message.data);
    const [plainFeed, blueFeed] = await Promise.all(
      [plain, blue].map((stack) => SseClient.open(`${stack.baseUrl}/api/events/live`)),
    );
    try {
      expect((await blue.reserve({ event_id: blueEvent, user_id: 'live' })).status).toBe(201);
      const update = await blueFeed.waitFor((m) => seats(m)?.event_id === blueEvent, 5_000);
      expect(JSON.parse(update.data)).toMatchObject({ event_id: blueEvent, available_seats: 9 });
      // The plain gateway heard nothing of it: its event of the same id still has every seat. (Its own earlier
      // bookings, of other events, may still be announced while the feed opens.)
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(plainFeed.received.filter((m) => seats(m)?.event_id === plainEvent)).toEqual([]);
    } finally {
      plainFeed.close();
      blueFeed.close();
    }
  });
});
