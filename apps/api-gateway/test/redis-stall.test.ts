import { randomUUID } from 'node:crypto';
import { TcpProxy, waitUntil } from '@booking/testing';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyStore } from '../src/idempotency/idempotency.store.js';
import { RateLimitService } from '../src/rate-limit/rate-limit.service.js';
import { PROBE_MAX_DELAY_MS, RedisAvailability } from '../src/redis/redis-availability.js';
import { SOCKET_TIMEOUT_MS } from '../src/redis/redis.module.js';
import { Stack, type ApiResponse } from './support/stack.js';

/** The gateways' REDIS_COMMAND_TIMEOUT_MS: long, so that "well below it" leaves a wide margin on a busy machine. */
const COMMAND_TIMEOUT_MS = 1_000;
/** Redis is used again at most one probe back-off plus one PING after it answers (and a second of slack). */
const RECOVERY_BOUND_MS = PROBE_MAX_DELAY_MS + COMMAND_TIMEOUT_MS + 1_000;
/** A silent connection is dropped (SOCKET_TIMEOUT_MS, over 2 command timeouts), reconnected (≤ 2 s), then probed. */
const SILENT_SOCKET_RECOVERY_BOUND_MS = SOCKET_TIMEOUT_MS + 2_000 + RECOVERY_BOUND_MS;
const IP_LIMIT = 10;

interface Timed {
  response: ApiResponse;
  ms: number;
}

/** One request and how long its answer took; the request has a deadline of its own. */
async function timed(
  url: string,
  method = 'GET',
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Timed> {
  const started = Date.now();
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return {
    response: { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers },
    ms: Date.now() - started,
  };
}

describe('Redis stalls behind a TCP proxy that holds the bytes and delivers them late', () => {
  let stack: Stack;
  let proxy: TcpProxy;
  /** Straight to redis-server, past the proxy: what Redis really holds. */
  let direct: Redis;
  /** A gateway with a small per-IP limit, and one without limits whose first Redis command is an idempotency claim. */
  let limited: { url: string; app: INestApplication };
  let keyed: { url: string; app: INestApplication };
  let eventId: number;

  const startGateway = async (env: Record<string, string>) => {
    const url = await stack.startExtraGateway({
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      ...env,
    });
    return { url, app: stack.gateways.at(-1)! };
  };
  const reserve = (user: string, key?: string) =>
    timed(
      `${keyed.url}/api/bookings/reserve`,
      'POST',
      { event_id: eventId, user_id: user },
      key ? { 'idempotency-key': key } : {},
    );
  const bookingsOf = (user: string) => stack.db.count('bookings', 'event_id = $1 AND user_id = $2', [eventId, user]);
  const available = (gateway: { app: INestApplication }) => gateway.app.get(RedisAvailability).available;

  beforeAll(async () => {
    stack = await Stack.start();
    proxy = await TcpProxy.start(stack.redis.port);
    direct = new Redis(stack.redis.url, { maxRetriesPerRequest: 1, commandTimeout: 5_000 });
    limited = await startGateway({ RATE_LIMIT_IP_MAX: String(IP_LIMIT), REDIS_KEY_PREFIX: 'limited:' });
    keyed = await startGateway({ RATE_LIMIT_ENABLED: 'false', REDIS_KEY_PREFIX: 'keyed:' });
    eventId = await stack.db.createEvent(1_000);
  });
  afterAll(async () => {
    proxy?.resume();
    direct?.disconnect();
    await stack?.stop();
    await proxy?.stop();
  });

  const heldKey = randomUUID();

  it('after the first timeout answers without waiting: local rate limits, keyed requests 503 at once', async () => {
    // Before the stall: shared counting, and the claim script is loaded in Redis (so a late one would run).
    const before = await timed(`${limited.url}/api/events/${eventId}`);
    expect(before.response.headers.get('ratelimit-remaining')).toBe(String(IP_LIMIT - 1));
    expect((await reserve('warm-up', randomUUID())).response.status).toBe(201);

    proxy.hang();
    const [first, firstKeyed] = await Promise.all([
      timed(`${limited.url}/api/events/${eventId}`),
      reserve('held', heldKey),
    ]);
    // These two met the stall: their command was sent and timed out.
    expect(first.response.status).toBe(200);
    expect(first.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50);
    expect(firstKeyed.response.status).toBe(503);
    expect(firstKeyed.ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50);
    expect(available(limited)).toBe(false);
    expect(available(keyed)).toBe(false);

    // From now on nothing waits for Redis. The per-IP limit is counted by this replica alone: the first
    // request above took one point of it.
    const fallbacksBefore = limited.app.get(RateLimitService).counters.redisFallbacks;
    const reads: Timed[] = [];
    for (let i = 0; i < IP_LIMIT + 1; i++) reads.push(await timed(`${limited.url}/api/events/${eventId}`));
    expect(reads.map((read) => read.response.status)).toEqual([...Array<number>(IP_LIMIT - 1).fill(200), 429, 429]);
    expect(limited.app.get(RateLimitService).counters.redisFallbacks - fallbacksBefore).toBe(IP_LIMIT + 1);
    const keyedAgain = await reserve('held', randomUUID());
    expect(keyedAgain.response.status).toBe(503);
    expect(keyedAgain.response.headers.get('retry-after')).toBe('1');
    expect(keyedAgain.response.body.message).toMatch(/^Idempotency-Key cannot be honoured right now/);
    const unkeyed = await reserve('unkeyed-during-stall');
    expect(unkeyed.response.status).toBe(201);
    for (const { ms } of [...reads, keyedAgain, unkeyed]) expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS / 3);
    expect(await bookingsOf('held')).toBe(0);

    for (const gateway of [limited, keyed]) {
      expect(await (await fetch(`${gateway.url}/metrics`)).text()).toMatch(/^redis_available 0$/m);
    }
  });

  it('after resume, the claim delivered late is refused by Redis, and the retry runs once', async () => {
    const redisKey = keyed.app.get(IdempotencyStore).redisKey('anonymous', heldKey);
    const monitor = await direct.monitor();
    const seen: { args: string[]; source: string }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ args, source }));
    try {
      proxy.resume();
      await waitUntil(
        async () => available(limited) && available(keyed),
        RECOVERY_BOUND_MS,
        'both gateways use Redis again',
      );
      // The held claim did reach Redis (in order, before the probe's PING)…
      await waitUntil(
        async () => seen.some(({ args }) => /^eval/i.test(args[0]!) && args.includes(redisKey)),
        5_000,
        'the held claim shows in MONITOR',
      );
      // …and wrote nothing: it arrived after its deadline.
      const writes = seen.filter(({ args, source }) => source === 'lua' && args[1] === redisKey);
      expect(writes.map(({ args }) => args[0]!.toUpperCase())).not.toContain('SET');
      expect(await direct.exists(redisKey)).toBe(0);
    } finally {
      monitor.disconnect();
    }

    const retry = await reserve('held', heldKey);
    expect(retry.response.status).toBe(201);
    const replay = await reserve('held', heldKey);
    expect(replay.response.status).toBe(201);
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    expect(await bookingsOf('held')).toBe(1);
  });

  it('shares the rate limits again once Redis answers', async () => {
    // The local limit is used up: a 200 now is counted in Redis, by the counter the stall interrupted.
    const counterKey = `limited:rl:ip:127.0.0.1`;
    const counted = Number(await direct.get(counterKey));
    const read = await timed(`${limited.url}/api/events/${eventId}`);
    expect(read.response.status).toBe(200);
    expect(Number(await direct.get(counterKey))).toBe(counted + 1);
    expect(read.response.headers.get('ratelimit-remaining')).toBe(String(IP_LIMIT - counted - 1));
    expect(await (await fetch(`${limited.url}/metrics`)).text()).toMatch(/^redis_available 1$/m);
  });

  it('releases a claim that Redis made in time but whose answer was lost, once Redis answers again', async () => {
    const key = randomUUID();
    const redisKey = keyed.app.get(IdempotencyStore).redisKey('anonymous', key);
    // Redis holds write commands back, so the claim is known to have arrived before the path stalls.
    await direct.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    let request: Promise<Timed> | undefined;
    try {
      request = reserve('answer-lost', key);
      await waitUntil(
        async () =>
          String(await direct.call('CLIENT', 'LIST'))
            .split('\n')
            .some((client) => client.includes(' flags=b ') && /cmd=eval/.test(client)),
        5_000,
        'the claim waits in Redis',
      );
      proxy.hang();
    } finally {
      await direct.call('CLIENT', 'UNPAUSE');
    }
    const lost = await request;
    expect(lost.response.status).toBe(503);
    // The claim was made (its answer is what the stall kept)…
    expect(await direct.exists(redisKey)).toBe(1);
    proxy.resume();
    // …and is released, by its token, as soon as the gateway hears from Redis again.
    await waitUntil(async () => (await direct.exists(redisKey)) === 0, RECOVERY_BOUND_MS, 'the lost claim released');
    expect((await reserve('answer-lost', key)).response.status).toBe(201);
    expect(await bookingsOf('answer-lost')).toBe(1);
  });

  it('replaces a connection that went silent for good (a failover leaving it dangling)', async () => {
    proxy.silenceExisting();
    const first = await reserve('silenced', randomUUID());
    expect(first.response.status).toBe(503);
    const next = await reserve('silenced', randomUUID());
    expect(next.response.status).toBe(503);
    expect(next.ms).toBeLessThan(COMMAND_TIMEOUT_MS / 3);
    await waitUntil(async () => available(keyed), SILENT_SOCKET_RECOVERY_BOUND_MS, 'a new connection answers');
    expect((await reserve('silenced', randomUUID())).response.status).toBe(201);
    expect(await bookingsOf('silenced')).toBe(1);
  });
});
