import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SECURITY_HEADERS } from '../src/common/security-headers.js';
import { RateLimitService } from '../src/rate-limit/rate-limit.service.js';
import { RedisAvailability } from '../src/redis/redis-availability.js';
import { countStatuses, httpRequest, Stack, tokenFor } from './support/stack.js';

const LIMITS = { RATE_LIMIT_IP_MAX: '10', RATE_LIMIT_USER_MAX: '1000', RATE_LIMIT_WINDOW_S: '60' };

describe('rate limiting in Redis', () => {
  let stack: Stack;
  let eventId: number;

  beforeAll(async () => {
    // Each test below uses its own key prefix, so their counters never mix.
    stack = await Stack.start({ gatewayEnv: { ...LIMITS, REDIS_KEY_PREFIX: 'burst:' } });
    eventId = await stack.db.createEvent(1000);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers 429 with Retry-After and RateLimit headers to a burst over the per-IP limit', async () => {
    const responses = await Promise.all(
      Array.from({ length: 15 }, (_, i) => stack.reserve({ event_id: eventId, user_id: `burst-${i}` })),
    );
    expect(countStatuses(responses)).toEqual({ 201: 10, 429: 5 });
    const allowed = responses.filter((r) => r.status === 201);
    expect(allowed.map((r) => Number(r.headers.get('ratelimit-remaining'))).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    for (const refused of responses.filter((r) => r.status === 429)) {
      expect(refused.body).toMatchObject({ error: 'Too Many Requests', statusCode: 429 });
      expect(refused.body.message).toMatch(/^Too many requests from 127\.0\.0\.1; retry in \d+ s$/);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers.get('ratelimit-limit')).toBe('10');
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      expect(refused.headers.get('ratelimit-reset')).toBe(String(retryAfter));
      expect(refused.headers.get('ratelimit-policy')).toBe('10;w=60');
      expect(refused.headers.get('content-security-policy')).toBe(API_SECURITY_HEADERS['content-security-policy']);
      expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
    }
    // Refused requests never reached the booking service.
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(10);
    // Probes are never limited.
    expect((await stack.request('GET', '/health/live')).status).toBe(200);
    expect((await stack.request('GET', '/health/ready')).status).toBe(200);
    expect(stack.gateway.get(RateLimitService).counters.rejected.ip).toBe(5);
  });

  it('shares one limit between two gateway instances', async () => {
    const env = { ...LIMITS, REDIS_KEY_PREFIX: 'shared:' };
    const [first, second] = await Promise.all([stack.startExtraGateway(env), stack.startExtraGateway(env)]);
    const responses = await Promise.all(
      Array.from({ length: 16 }, (_, i) => httpRequest(`${i % 2 ? first : second}/api/events/${eventId}`, 'GET')),
    );
    // Each instance saw 8 requests, under the limit of 10: a refusal at all means they counted together.
    expect(countStatuses(responses)).toEqual({ 200: 10, 429: 6 });
  });

  it('limits each authenticated user separately from their IP', async () => {
    const url = await stack.startExtraGateway({
      RATE_LIMIT_IP_MAX: '1000',
      RATE_LIMIT_USER_MAX: '3',
      REDIS_KEY_PREFIX: 'user:',
    });
    const erin = { authorization: `Bearer ${await tokenFor({ sub: 'erin' })}` };
    const frank = { authorization: `Bearer ${await tokenFor({ sub: 'frank' })}` };
    const erinResponses = [];
    for (let i = 0; i < 4; i++) erinResponses.push(await httpRequest(`${url}/api/bookings`, 'GET', undefined, erin));
    expect(erinResponses.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(erinResponses[3]!.body.message).toMatch(/^Too many requests for user erin; retry in \d+ s$/);
    expect(Number(erinResponses[3]!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(erinResponses[1]!.headers.get('ratelimit-limit')).toBe('3');
    expect(erinResponses[1]!.headers.get('ratelimit-remaining')).toBe('1');
    expect((await httpRequest(`${url}/api/bookings`, 'GET', undefined, frank)).status).toBe(200);
    // The event lookup (a plain Fastify route, not a Nest one) counts against the same limit.
    const erinReads = await httpRequest(`${url}/api/events/${eventId}`, 'GET', undefined, erin);
    expect(erinReads.status).toBe(429);
    expect(erinReads.body.message).toMatch(/^Too many requests for user erin; retry in \d+ s$/);
    const frankReads = await httpRequest(`${url}/api/events/${eventId}`, 'GET', undefined, frank);
    expect(frankReads.status).toBe(200);
    expect(frankReads.headers.get('ratelimit-remaining')).toBe('1');
    expect((await httpRequest(`${url}/api/events/${eventId}`, 'GET')).status).toBe(200);
  });

  it('lets the limits be raised by configuration (RATE_LIMIT_ENABLED=false turns them off)', async () => {
    const url = await stack.startExtraGateway({
      RATE_LIMIT_ENABLED: 'false',
      RATE_LIMIT_IP_MAX: '1',
      REDIS_KEY_PREFIX: 'off:',
    });
    const statuses = await Promise.all(Array.from({ length: 5 }, () => httpRequest(`${url}/api/events`, 'GET')));
    expect(statuses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  });
});

describe('rate limiting while Redis is down', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ gatewayEnv: { RATE_LIMIT_IP_MAX: '20', RATE_LIMIT_WINDOW_S: '60' } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('falls back to per-replica limits (fail open, counted), and bookings still never oversell', async () => {
    const limits = stack.gateway.get(RateLimitService);
    const redis = stack.gateway.get(RedisAvailability);
    const eventId = await stack.db.createEvent(5);
    await stack.redis.stop();

    const started = Date.now();
    const responses = await Promise.all(
      Array.from({ length: 25 }, (_, i) => stack.reserve({ event_id: eventId, user_id: `outage-${i}` })),
    );
    // Redis being away costs no waiting: the limiter fails fast to local counting.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(countStatuses(responses)).toEqual({ 201: 5, 409: 15, 429: 5 });
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(5);
    expect(redis.available).toBe(false);
    expect(limits.counters.redisFallbacks).toBeGreaterThanOrEqual(25);

    // Back again: shared counting resumes (a fresh Redis starts from zero).
    await stack.redis.resume();
    await expect
      .poll(async () => (await stack.request('GET', '/api/events')).headers.get('ratelimit-remaining'), {
        timeout: 10_000,
        interval: 200,
      })
      .toBe('19');
    expect(redis.available).toBe(true);
  });
});
