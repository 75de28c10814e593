import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '@booking/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyStore } from '../../src/idempotency/idempotency.store.js';
import { RateLimitService } from '../../src/rate-limit/rate-limit.service.js';
import { PROBE_MAX_DELAY_MS, RedisAvailability } from '../../src/redis/redis-availability.js';
import { Stack } from '../support/stack.js';
import { expectTruthfulOutcomes, ReservationLoad, type Answer } from './fault-load.js';

/**
 * A limit the load never reaches, over one-second windows: each window's leases start at one point,
 * so the limiter asks Redis several times a second and meets its loss at once.
 */
const GATEWAY_ENV = { RATE_LIMIT_IP_MAX: '100000', RATE_LIMIT_WINDOW_S: '1' };
const REDIS_DOWN_MS = 3_000;
/** Used again after one probe back-off, the reconnect delay (up to 2 s) and a PING, with slack for a busy machine. */
const RECOVERY_BOUND_MS = PROBE_MAX_DELAY_MS + 2_000 + 5_000;

/**
 * redis-server killed (SIGKILL) under a steady load of reservations on two gateways, and started
 * again, empty, 3 s later (stalls are `redis-stall.test.ts`'s). Reservations without
 * Idempotency-Key must book throughout, with no 5xx; those with one get 503 while Redis is away
 * (the gateway fails closed for them) and book again once it is back; rate limits are counted
 * locally meanwhile and in Redis again afterwards.
 */
describe('Redis lost under load and back', () => {
  let stack: Stack;
  let direct: Redis;
  const gatewayUrls: string[] = [];

  beforeAll(async () => {
    stack = await Stack.start({ gatewayEnv: GATEWAY_ENV });
    gatewayUrls.push(stack.baseUrl, await stack.startExtraGateway(GATEWAY_ENV));
  });
  afterAll(async () => {
    direct?.disconnect();
    await stack?.stop();
  });

  const fallbacks = () =>
    stack.gateways.reduce((sum, gateway) => sum + gateway.get(RateLimitService).counters.redisFallbacks, 0);
  const everyGateway = (available: boolean) =>
    stack.gateways.every((gateway) => gateway.get(RedisAvailability).available === available);

  it('reservations go on while Redis is away; keyed ones get 503 then; Redis is used again once back', async () => {
    const eventId = await stack.db.createEvent(1_000_000, 'redis-loss');
    // Single requests with Idempotency-Key, on an event of their own.
    const keysEvent = await stack.db.createEvent(10, 'redis-loss-keys');
    let turn = 0;
    const url = () => gatewayUrls[turn++ % gatewayUrls.length]!;
    const unkeyed = new ReservationLoad(url, eventId, 'unkeyed', 12);
    const keyed = new ReservationLoad(url, eventId, 'keyed', 4, 40, () => ({ 'idempotency-key': randomUUID() }));
    const keptKey = randomUUID();
    const kept = () => stack.reserve({ event_id: keysEvent, user_id: 'kept' }, { 'idempotency-key': keptKey });
    expect((await kept()).status).toBe(201);
    await unkeyed.booked(40, 0, 20_000, 'bookings before Redis is lost');
    await keyed.booked(10, 0, 20_000, 'keyed bookings before Redis is lost');

    const fallbacksBefore = fallbacks();
    const killedAt = Date.now();
    await stack.redis.stop();
    await waitUntil(async () => everyGateway(false), 10_000, 'every gateway saw Redis go');
    await sleep(REDIS_DOWN_MS);
    const fallbacksWhileDown = fallbacks() - fallbacksBefore;
    const backAt = Date.now();
    await stack.redis.resume();
    await waitUntil(async () => everyGateway(true), RECOVERY_BOUND_MS, 'every gateway uses Redis again');
    const usedAgainAt = Date.now();
    const fallbacksBack = fallbacks();
    await unkeyed.booked(40, usedAgainAt, 20_000, 'bookings after Redis is back');
    await keyed.booked(10, usedAgainAt, 20_000, 'keyed bookings after Redis is back');
    // The counters of the current window (they expire with it), while the load runs.
    direct = new Redis(stack.redis.url, { maxRetriesPerRequest: 1 });
    const counters = await direct.keys('*rl:ip:*');
    const fallbacksAfter = fallbacks() - fallbacksBack;
    const answers: Answer[] = [...(await unkeyed.stop()), ...(await keyed.stop())];

    const phases = {
      before: (a: Answer) => a.answeredAt < killedAt,
      down: (a: Answer) => a.sentAt >= killedAt && a.answeredAt < backAt,
      after: (a: Answer) => a.sentAt >= usedAgainAt,
    };
    const booked = (load: ReservationLoad, phase: (a: Answer) => boolean) =>
      load.answers.filter((a) => a.status === 201 && phase(a)).length;
    const counts = Object.fromEntries(
      Object.entries(phases).map(([name, phase]) => [
        name,
        { unkeyed: booked(unkeyed, phase), keyed: booked(keyed, phase) },
      ]),
    );
    console.info(
      `Redis killed for ${REDIS_DOWN_MS} ms: bookings per phase ${JSON.stringify(counts)}; ` +
        `unkeyed ${JSON.stringify(unkeyed.statuses())}, keyed ${JSON.stringify(keyed.statuses())}; ` +
        `used again ${usedAgainAt - backAt} ms after it was back; ${fallbacksWhileDown} requests limited locally`,
    );

    // Without Idempotency-Key nothing needs Redis: every reservation booked, before, during and after.
    expect(unkeyed.answers.filter((a) => a.status !== 201)).toEqual([]);
    for (const phase of Object.values(counts)) expect(phase.unkeyed).toBeGreaterThan(0);
    // With one, the gateway cannot promise at most once without Redis: 503 ("try again"), nothing booked.
    const refused = keyed.answers.filter((a) => a.status !== 201);
    expect(
      refused.filter((a) => a.status !== 503 || !/^Idempotency-Key cannot be honoured/.test(a.message ?? '')),
    ).toEqual([]);
    expect(refused.filter((a) => a.answeredAt < killedAt || a.sentAt >= usedAgainAt)).toEqual([]);
    expect(keyed.answers.filter((a) => phases.down(a) && a.status === 503).length).toBeGreaterThan(0);
    expect(counts.after!.keyed).toBeGreaterThan(0);
    await expectTruthfulOutcomes(stack, eventId, answers);

    // Rate limits were counted by each gateway alone while Redis was away, and in Redis again now.
    expect(fallbacksWhileDown).toBeGreaterThan(0);
    expect(fallbacksAfter).toBe(0);
    expect(counters).not.toEqual([]);

    // Idempotency records are in Redis again: a repeat is replayed from the new record…
    const key = randomUUID();
    const first = await stack.reserve({ event_id: keysEvent, user_id: 'after' }, { 'idempotency-key': key });
    const repeat = await stack.reserve({ event_id: keysEvent, user_id: 'after' }, { 'idempotency-key': key });
    expect([first.status, repeat.status]).toEqual([201, 201]);
    expect(repeat.headers.get('idempotent-replayed')).toBe('true');
    expect(await direct.exists(stack.gateway.get(IdempotencyStore).redisKey('anonymous', key))).toBe(1);
    // …while the records of before were lost with the server (no persistence): a repeat of one runs again,
    // and PostgreSQL's one booking per user and event refuses it.
    const keptAgain = await kept();
    expect(keptAgain.status).toBe(409);
    expect(await stack.db.count('bookings', 'event_id = $1 AND user_id = $2', [keysEvent, 'kept'])).toBe(1);
  });
});
