import { setTimeout as sleep } from 'node:timers/promises';
import { PrivateRedisServer } from '@booking/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeasedWindowLimiter, type WindowDecision } from '../src/rate-limit/leased-window-limiter.js';
import { RedisAvailability } from '../src/redis/redis-availability.js';

/** Two gateway replicas' limiters: each has its own Redis connection, as in production. */
describe('LeasedWindowLimiter against a real Redis', () => {
  let server: PrivateRedisServer;
  const connections: Redis[] = [];
  const availabilities: RedisAvailability[] = [];
  const limiters: LeasedWindowLimiter[] = [];
  let prefix = 0;

  beforeAll(async () => {
    server = await PrivateRedisServer.start();
  });
  afterAll(async () => {
    for (const limiter of limiters) limiter.dispose();
    await Promise.all(availabilities.map((redis) => redis.onApplicationShutdown()));
    await server?.stop();
  });

  async function replicas(count: number, points: number, windowSeconds = 60): Promise<LeasedWindowLimiter[]> {
    const keyPrefix = `test-${++prefix}`;
    const created = [];
    for (let i = 0; i < count; i++) {
      const redis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500 });
      await new Promise((resolve) => redis.once('ready', resolve));
      connections.push(redis);
      const availability = new RedisAvailability(redis);
      availabilities.push(availability);
      const limiter = new LeasedWindowLimiter(availability, { points, windowSeconds, keyPrefix });
      limiters.push(limiter);
      created.push(limiter);
    }
    return created;
  }

  /** How many times Redis ran the limiter's script so far. */
  async function scriptCalls(): Promise<number> {
    const stats = await connections[0]!.info('commandstats');
    return [...stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  }

  const allowedCount = (decisions: WindowDecision[]) => decisions.filter((d) => d.allowed).length;

  it('counts small limits one request at a time, exactly, with the remaining points of each', async () => {
    const [limiter] = await replicas(1, 10);
    const decisions = await Promise.all(Array.from({ length: 15 }, () => limiter!.consume('ip-a')));
    expect(allowedCount(decisions)).toBe(10);
    expect(
      decisions
        .filter((d) => d.allowed)
        .map((d) => d.remaining)
        .sort((a, b) => a - b),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const refused of decisions.filter((d) => !d.allowed)) {
      expect(refused.remaining).toBe(0);
      expect(refused.msBeforeReset).toBeGreaterThan(50_000);
      expect(refused.msBeforeReset).toBeLessThanOrEqual(60_000);
    }
    // Another key has its own window.
    expect((await limiter!.consume('ip-b')).allowed).toBe(true);
  });

  it('never lets replicas together exceed the limit under concurrent bursts, and leaves little unused', async () => {
    const points = 6_400; // leases of up to 100 points
    const [first, second] = await replicas(2, points);
    const decisions: WindowDecision[] = [];
    const burst = async (size: number, pick: (i: number) => LeasedWindowLimiter) =>
      decisions.push(...(await Promise.all(Array.from({ length: size }, (_, i) => pick(i).consume('crowd')))));
    await burst(300, () => first!);
    for (let wave = 0; wave < 3; wave++) await burst(1_000, (i) => (i % 2 ? first! : second!));
    // The first replica falls silent with whatever it leased last still in hand.
    for (let wave = 0; wave < 4; wave++) await burst(1_000, () => second!);
    const allowed = allowedCount(decisions);
    expect(allowed).toBeLessThanOrEqual(points);
    // Points leased by one replica and unused by the time the other ran out: at most one lease each.
    expect(allowed).toBeGreaterThanOrEqual(points - 2 * 100);
  });

  it('asks Redis once per lease, not once per request, and refuses locally once the window is used up', async () => {
    const [limiter] = await replicas(1, 1_000_000);
    const before = await scriptCalls();
    let remaining = Infinity;
    for (let i = 0; i < 2_000; i++) {
      const decision = await limiter!.consume('busy');
      expect(decision.allowed).toBe(true);
      // One replica alone sees its exact remaining points.
      expect(decision.remaining).toBe(1_000_000 - i - 1);
      expect(decision.remaining).toBeLessThan(remaining);
      remaining = decision.remaining;
    }
    const calls = (await scriptCalls()) - before;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(20);

    const [small] = await replicas(1, 3);
    for (let i = 0; i < 3; i++) expect((await small!.consume('spent')).allowed).toBe(true);
    const spent = await scriptCalls();
    const refusals = await Promise.all(Array.from({ length: 50 }, () => small!.consume('spent')));
    expect(allowedCount(refusals)).toBe(0);
    // The fourth request learnt that the window is used up; the rest were refused without asking Redis.
    expect((await scriptCalls()) - spent).toBeLessThanOrEqual(1);
  });

  it('starts a fresh window when the old one ends, without carrying leased points over', async () => {
    const [limiter] = await replicas(1, 2, 1);
    expect(allowedCount(await Promise.all([1, 2, 3].map(() => limiter!.consume('short'))))).toBe(2);
    await sleep(1_100);
    const next = await Promise.all([1, 2, 3].map(() => limiter!.consume('short')));
    expect(allowedCount(next)).toBe(2);
    expect(next.find((d) => d.allowed)!.msBeforeReset).toBeGreaterThan(500);
  });

  it('rejects at once while Redis is away, and counts again when it is back', async () => {
    const [limiter] = await replicas(1, 100);
    expect((await limiter!.consume('outage')).allowed).toBe(true);
    await server.stop();
    try {
      const started = Date.now();
      // A fresh key has no points in hand, so its request needs Redis.
      await expect(limiter!.consume('outage-fresh')).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await server.resume();
    }
    await expect
      .poll(
        async () => {
          try {
            return (await limiter!.consume(`after-${Date.now()}`)).allowed;
          } catch {
            return false;
          }
        },
        { timeout: 10_000 },
      )
      .toBe(true);
  });
});
