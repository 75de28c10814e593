import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@booking/testing';
import { BookingClient } from '../src/booking-client/booking-client.js';
import { countStatuses, httpRequest, Stack, type ApiResponse } from './support/stack.js';

const TIMEOUT_MS = 2_500;
const RESILIENCE_THRESHOLD = 3;
const RESILIENCE = {
  NATS_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
  BREAKER_FAILURE_THRESHOLD: String(RESILIENCE_THRESHOLD),
  BREAKER_HALF_OPEN_AFTER_MS: '1000',
};
/** A database statement limit that leaves most of the short deadline for waiting to start. */
const SERVICE = { DATABASE_STATEMENT_TIMEOUT_MS: '500' };

async function timed(request: Promise<ApiResponse>): Promise<ApiResponse & { ms: number }> {
  const started = performance.now();
  const response = await request;
  return { ...response, ms: performance.now() - started };
}

describe('resilience between gateway and booking service', () => {
  let stack: Stack;
  let eventId: number;

  beforeAll(async () => {
    stack = await Stack.start({
      inProcessReplicas: 0,
      processReplicas: 1,
      gatewayEnv: RESILIENCE,
      serviceEnv: SERVICE,
    });
    eventId = await stack.db.createEvent(1000);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const replica = () => stack.children.at(-1)!;
  const clientOf = (app: INestApplication) => app.get(BookingClient);
  const reserveAt = (url: string, userId: string) =>
    timed(httpRequest(`${url}/api/bookings/reserve`, 'POST', { event_id: eventId, user_id: userId }));

  it('opens the circuit for commands while the booking service hangs: fast 503s with Retry-After, then recovers by itself', async () => {
    const url = await stack.startExtraGateway(RESILIENCE);
    const client = clientOf(stack.gateways.at(-1)!);
    replica().kill('SIGSTOP');
    try {
      // The first failures wait for the deadline, and cannot know whether they booked ...
      for (let i = 0; i < 3; i++) {
        const response = await reserveAt(url, `hung-${i}`);
        expect(response.status).toBe(504);
        expect(response.body.outcome).toBe('unknown');
        expect(response.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      }
      expect(client.breakerStates).toEqual({ command: 'open', read: 'closed' });
      // ... then the open circuit answers at once.
      const fast = await Promise.all(Array.from({ length: 10 }, (_, i) => reserveAt(url, `fast-${i}`)));
      for (const response of fast) {
        expect(response.status).toBe(503);
        expect(response.ms).toBeLessThan(TIMEOUT_MS / 5);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(response.body.message).toMatch(/^The booking service is failing; requests are paused, retry in \d+ s$/);
      }
    } finally {
      replica().kill('SIGCONT');
    }
    await expect
      .poll(async () => (await reserveAt(url, `recovered-${Date.now()}`)).status, { timeout: 10_000, interval: 250 })
      .toBe(201);
    expect(client.breakerStates.command).toBe('closed');
    expect(client.counters.breakerOpened).toBe(1);
    // The hung requests' deadlines had passed when the service resumed: none of them booked.
    expect(await stack.db.count('bookings', "user_id LIKE 'hung-%' OR user_id LIKE 'fast-%'")).toBe(0);
  });

  it('answers 503 while the booking service is stopped, without opening a circuit, and books again as soon as it is back', async () => {
    const url = await stack.startExtraGateway(RESILIENCE);
    const client = clientOf(stack.gateways.at(-1)!);
    await stack.stopReplicas();
    const responses = [];
    for (let i = 0; i < 4; i++) responses.push(await reserveAt(url, `down-${i}`));
    for (const response of responses) {
      expect(response.status).toBe(503);
      expect(response.body.message).toBe('The booking service is unavailable; try again shortly');
      // "No responders" is retried for about a second (a replica may be re-subscribing), never until the deadline.
      expect(response.ms).toBeLessThan(TIMEOUT_MS - 500);
      expect(response.headers.get('retry-after')).toBe('1');
    }
    // Nobody received them: nothing to shed, so no circuit opened, and the first request after the restart books.
    expect(client.breakerStates).toEqual({ command: 'closed', read: 'closed' });
    await stack.startProcessReplica(SERVICE);
    expect((await reserveAt(url, 'back-at-once')).status).toBe(201);
    expect(await stack.db.count('bookings', "user_id LIKE 'down-%'")).toBe(0);
  });

  it('retries reads after quick failures, never commands, except when nobody received them', async () => {
    const url = await stack.startExtraGateway({ ...RESILIENCE, BREAKER_FAILURE_THRESHOLD: '100', READ_RETRIES: '2' });
    const client = clientOf(stack.gateways.at(-1)!);
    await stack.stopReplicas();
    try {
      // No responders: nobody got the request, so reads and commands alike are sent again.
      expect((await httpRequest(`${url}/api/events/${eventId}`, 'GET')).status).toBe(503);
      const afterRead = client.counters.noRespondersRetries;
      expect(afterRead).toBeGreaterThan(0);
      expect((await reserveAt(url, 'no-responders')).status).toBe(503);
      expect(client.counters.noRespondersRetries).toBe(2 * afterRead);
      // A replica whose database is away answers "unavailable": a read is retried, a command is not.
      const deadPort = await freePort();
      await stack.startInProcessReplica({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${deadPort}/x` });
      expect((await httpRequest(`${url}/api/events/${eventId}`, 'GET')).status).toBe(503);
      expect(client.counters.retries).toBe(2);
      expect((await reserveAt(url, 'no-retry')).status).toBe(503);
      expect(client.counters.retries).toBe(2);
    } finally {
      await stack.stopReplicas();
      await stack.startProcessReplica(SERVICE);
    }
  });

  it('bounds requests in flight: beyond BOOKING_MAX_IN_FLIGHT the gateway answers 503 at once', async () => {
    const url = await stack.startExtraGateway({
      ...RESILIENCE,
      BOOKING_MAX_IN_FLIGHT: '2',
      BREAKER_FAILURE_THRESHOLD: '100',
    });
    replica().kill('SIGSTOP');
    let responses: Awaited<ReturnType<typeof reserveAt>>[];
    try {
      responses = await Promise.all(Array.from({ length: 8 }, (_, i) => reserveAt(url, `crowd-${i}`)));
    } finally {
      replica().kill('SIGCONT');
    }
    expect(countStatuses(responses)).toEqual({ 503: 6, 504: 2 });
    for (const shed of responses.filter((r) => r.status === 503)) {
      expect(shed.ms).toBeLessThan(TIMEOUT_MS / 5);
      expect(shed.body.message).toBe('The gateway is at capacity; retry shortly');
      expect(shed.headers.get('retry-after')).toBe('1');
    }
    expect(clientOf(stack.gateways.at(-1)!).counters.shedByBulkhead).toBe(6);
  });

  it('finishes in-flight requests on shutdown', { timeout: 20_000 }, async () => {
    const url = await stack.startExtraGateway({ NATS_REQUEST_TIMEOUT_MS: '10000' });
    const app = stack.gateways.pop()!;
    replica().kill('SIGSTOP');
    const inFlight = reserveAt(url, 'during-shutdown');
    await sleep(300);
    const closing = app.close();
    await sleep(300);
    // New connections are no longer accepted while the old request is still running.
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
    replica().kill('SIGCONT');
    const response = await inFlight;
    await closing;
    expect(response.status).toBe(201);
    expect(response.body.user_id).toBe('during-shutdown');
    // The keep-alive client is told to let go, so the server need not wait on its idle socket.
    expect(response.headers.get('connection')).toBe('close');
  });

  it('forwards X-Request-Id to the booking service as a NATS header, and echoes it', async () => {
    const spy = await connect({ servers: stack.nats.url });
    const seen: (string | undefined)[] = [];
    const subscription = spy.subscribe('event.get', {
      callback: (_error, message) => seen.push(message.headers?.get('x-request-id')),
    });
    await spy.flush();
    // Events nobody books: the live feed's own lookups (no request id) of booked events cannot be shared with these
    // reads. Two of them, as the gateway's catalogue answers a second read of one event itself.
    const [quietEventId, otherQuietEventId] = [await stack.db.createEvent(1), await stack.db.createEvent(1)];
    try {
      const response = await stack.request('GET', `/api/events/${quietEventId}`, undefined, {
        'x-request-id': 'trace-abc-123',
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toBe('trace-abc-123');
      const generated = await stack.request('GET', `/api/events/${otherQuietEventId}`);
      const id = generated.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await expect.poll(() => seen.filter((requestId) => requestId !== undefined)).toEqual(['trace-abc-123', id]);
    } finally {
      subscription.unsubscribe();
      await spy.close();
    }
  });
  // Last in this file: it kills the replica it adds.
  it('keeps the circuit closed when a replica dies with requests in flight while another answers', async () => {
    const url = await stack.startExtraGateway(RESILIENCE);
    const client = clientOf(stack.gateways.at(-1)!);
    await stack.startProcessReplica(SERVICE);
    const dying = replica();
    dying.kill('SIGSTOP');
    const sent = [];
    // A burst, one per turn of the event loop so that each is its own message and NATS spreads them over
    // both replicas: about half are taken by the stopped one, which then dies with them.
    for (let i = 0; i < 40; i++) {
      sent.push(reserveAt(url, `in-flight-${i}`));
      await sleep(2);
    }
    dying.kill('SIGKILL');
    // The other replica keeps answering while the dead one's requests reach their deadline together.
    const until = Date.now() + TIMEOUT_MS + 1_000;
    for (let i = 0; Date.now() < until; i++) {
      sent.push(reserveAt(url, `after-death-${i}`));
      await sleep(100);
    }
    const statuses = countStatuses(await Promise.all(sent));
    expect(statuses[504]).toBeGreaterThanOrEqual(RESILIENCE_THRESHOLD); // enough to open a circuit counting them all
    expect(Object.keys(statuses).sort()).toEqual(['201', '504']);
    expect(client.counters.breakerOpened).toBe(0);
  });
});
