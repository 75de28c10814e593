import { TcpProxy } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../support/stack.js';

interface Probe {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

async function probe(url: string): Promise<Probe> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: await response.json() };
}

/** Polls the probe until it answers `status` (dependencies come and go asynchronously). */
async function probeUntil(url: string, status: number, timeoutMs = 20_000): Promise<Probe> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe(url);
    if (result.status === status || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('liveness and readiness follow the dependencies', () => {
  let stack: Stack;
  let postgresProxy: TcpProxy;
  let bookingUrl: string;
  let gatewayUrl: string;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 0 });
    // The booking service reaches PostgreSQL through a proxy this test can cut; the shared server stays up.
    postgresProxy = await TcpProxy.start(5432);
    await stack.startInProcessReplica({ DATABASE_URL: postgresProxy.urlFor(stack.db.url) });
    bookingUrl = stack.replicaUrls[0]!;
    gatewayUrl = stack.baseUrl;
  });
  afterAll(async () => {
    await stack?.stop();
    await postgresProxy?.stop();
  });

  it('is ready when PostgreSQL and NATS answer', async () => {
    const booking = await probe(`${bookingUrl}/health/ready`);
    expect(booking.status).toBe(200);
    expect(booking.body).toMatchObject({
      status: 'ok',
      details: { postgresql: { status: 'up' }, nats: { status: 'up' } },
    });
    const gateway = await probe(`${gatewayUrl}/health/ready`);
    expect(gateway.status).toBe(200);
    expect(gateway.body).toMatchObject({ status: 'ok', details: { nats: { status: 'up' } } });
  });

  it('booking-service turns unready while PostgreSQL is unreachable, and ready again when it returns', async () => {
    await postgresProxy.cut();
    const down = await probeUntil(`${bookingUrl}/health/ready`, 503);
    expect(down.status).toBe(503);
    expect(down.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringMatching(/^Not ready: postgresql \(.+\) unavailable$/),
    });
    // Alive all the while, and the gateway (which does not use PostgreSQL) stays ready.
    expect((await probe(`${bookingUrl}/health/live`)).status).toBe(200);
    expect((await probe(`${gatewayUrl}/health/ready`)).status).toBe(200);

    await postgresProxy.restore();
    expect((await probeUntil(`${bookingUrl}/health/ready`, 200)).status).toBe(200);
  });

  it('both services turn unready while NATS is down, and ready again when it is back', async () => {
    await stack.nats.stop();
    const booking = await probeUntil(`${bookingUrl}/health/ready`, 503);
    const gateway = await probeUntil(`${gatewayUrl}/health/ready`, 503);
    expect(booking.status).toBe(503);
    expect(booking.body.message).toMatch(/^Not ready: nats \(.+\) unavailable$/);
    expect(gateway.status).toBe(503);
    expect(gateway.body.message).toMatch(/^Not ready: nats \(.+\) unavailable$/);
    expect((await probe(`${gatewayUrl}/health/live`)).status).toBe(200);

    await stack.nats.resume();
    expect((await probeUntil(`${bookingUrl}/health/ready`, 200)).status).toBe(200);
    expect((await probeUntil(`${gatewayUrl}/health/ready`, 200)).status).toBe(200);
    // Traffic flows again end to end.
    const eventId = await stack.db.createEvent(1);
    expect((await stack.reserve({ event_id: eventId, user_id: 'after-outage' })).status).toBe(201);
  });
});
