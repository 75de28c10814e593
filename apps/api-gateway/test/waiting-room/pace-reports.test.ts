import { setTimeout as sleep } from 'node:timers/promises';
import { PrivateRedisServer } from '@booking/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../src/config.js';
import { RedisAvailability } from '../../src/redis/redis-availability.js';
import { PaceReports } from '../../src/waiting-room/pace-reports.js';
import { QueueStore } from '../../src/waiting-room/queue-store.js';

const EVENT_ID = 7;
const HOLD_MS = 1_000;

/** Two gateway replicas' reports of one room, in a real Redis, as the adaptive pace reads them back. */
describe('PaceReports against a real Redis', () => {
  let server: PrivateRedisServer;
  const availabilities: RedisAvailability[] = [];
  let reports: PaceReports[];
  let store: QueueStore;

  beforeAll(async () => {
    server = await PrivateRedisServer.start();
    const config = loadGatewayConfig({ REDIS_KEY_PREFIX: 'pace-reports-test:' });
    for (let i = 0; i < 2; i++) {
      const redis = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500 });
      await new Promise((resolve) => redis.once('ready', resolve));
      availabilities.push(new RedisAvailability(redis));
    }
    reports = availabilities.map((redis) => new PaceReports(redis, config));
    store = new QueueStore(availabilities[0]!, config);
  });
  afterAll(async () => {
    await Promise.all(availabilities.map((redis) => redis.onApplicationShutdown()));
    await server?.stop();
  });

  it('adds up every replica’s counts, hands them to one judge once, and says the target to all', async () => {
    await store.configure(
      EVENT_ID,
      { rate: 200, leadMs: 0, opensAt: 0, targetMs: 100, maxRate: 400, cutAt: null },
      true,
    );
    await reports[0]!.add(EVENT_ID, { count: 30, slow: 1, nearlySlow: 4 });
    await reports[1]!.add(EVENT_ID, { count: 12, slow: 0, nearlySlow: 2 });

    const first = await reports[1]!.toJudge(EVENT_ID, HOLD_MS, 20, 5_000);
    expect(first).toEqual({
      targetMs: 100,
      judge: { pace: { rate: 200, maxRate: 400, cutAt: null }, sample: { count: 42, slow: 1, nearlySlow: 6 } },
    });
    // The other replica, within the hold: nothing to judge, the reports were taken.
    expect(await reports[0]!.toJudge(EVENT_ID, HOLD_MS, 20, 5_000)).toEqual({ targetMs: 100 });
  });

  it('judges nothing until enough reservations were reported', async () => {
    const eventId = EVENT_ID + 1;
    await store.configure(eventId, { rate: 50, leadMs: 0, opensAt: 0, targetMs: 80, maxRate: 50, cutAt: 100 }, true);
    await reports[0]!.add(eventId, { count: 5, slow: 5, nearlySlow: 5 });
    expect(await reports[0]!.toJudge(eventId, HOLD_MS, 20, 5_000)).toEqual({ targetMs: 80 });
  });

  it('drops what was reported before a change of pace, and what is reported just after it', async () => {
    const eventId = EVENT_ID + 2;
    await store.configure(
      eventId,
      { rate: 100, leadMs: 0, opensAt: 0, targetMs: 100, maxRate: 100, cutAt: null },
      true,
    );
    await reports[0]!.add(eventId, { count: 50, slow: 50, nearlySlow: 50 });
    await reports[0]!.restart(eventId, 1_000);
    await reports[1]!.add(eventId, { count: 50, slow: 50, nearlySlow: 50 });
    await sleep(1_100);
    await reports[1]!.add(eventId, { count: 25, slow: 0, nearlySlow: 1 });
    expect(await reports[1]!.toJudge(eventId, HOLD_MS, 20, 5_000)).toMatchObject({
      judge: { sample: { count: 25, slow: 0, nearlySlow: 1 } },
    });
  });
});
