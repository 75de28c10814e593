import { TcpProxy, waitUntil } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Stack } from '../support/stack.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Polls until `predicate` holds (log lines from a child process arrive asynchronously). */
async function eventually(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('correlation ids in the logs (gateway → NATS → booking-service process)', () => {
  let stack: Stack;
  let postgresProxy: TcpProxy;

  beforeAll(async () => {
    stack = await Stack.start({
      inProcessReplicas: 0,
      captureLogs: true,
      serviceEnv: { LOG_LEVEL: 'debug' },
      gatewayEnv: { LOG_LEVEL: 'debug' },
    });
    // The booking service runs as its own process, so its log is its real standard output; it reaches
    // PostgreSQL through a proxy so that one test can make the database fail.
    postgresProxy = await TcpProxy.start(5432);
    await stack.startProcessReplica({ DATABASE_URL: postgresProxy.urlFor(stack.db.url) });
    await stack.startNotificationProcess();
  });
  afterAll(async () => {
    await stack?.stop();
    await postgresProxy?.stop();
  });

  const gatewayLines = (id: string) => stack.logs.gateway.lines().filter((line) => line.correlationId === id);
  const serviceLines = (id: string) => stack.logs.bookingService.lines().filter((line) => line.correlationId === id);
  const notificationLines = (id: string) =>
    stack.logs.notificationService.lines().filter((line) => line.correlationId === id);

  it("carries the client's X-Request-Id through every service's log, the stored event, and echoes it", async () => {
    const eventId = await stack.db.createEvent(5);
    const id = 'trace-me-0001';
    const response = await stack.request(
      'POST',
      '/api/bookings/reserve',
      { event_id: eventId, user_id: 'correlated' },
      { 'x-request-id': id },
    );
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe(id);

    await eventually(() => serviceLines(id).length > 0 && gatewayLines(id).length > 0);
    expect(gatewayLines(id)).toContainEqual(
      expect.objectContaining({
        service: 'api-gateway',
        level: 'debug',
        route: '/api/bookings/reserve',
        statusCode: 201,
        msg: 'request completed',
      }),
    );
    expect(serviceLines(id)).toContainEqual(
      expect.objectContaining({
        service: 'booking-service',
        subject: 'booking.reserve',
        outcome: 'ok',
        msg: 'request handled',
      }),
    );
    // Stored with the event in the outbox, and carried on by the notification service.
    const { rows } = await stack.db.query('SELECT correlation_id FROM outbox WHERE booking_id = $1', [
      response.body.id,
    ]);
    expect(rows).toEqual([{ correlation_id: id }]);
    await eventually(() => notificationLines(id).length > 0);
    expect(notificationLines(id)).toContainEqual(
      expect.objectContaining({ service: 'notification-service', context: 'Notification' }),
    );
  });

  it('generates an id when the client sends none, and forwards that', async () => {
    const response = await stack.request('GET', '/api/events');
    expect(response.status).toBe(200);
    const id = response.headers.get('x-request-id')!;
    expect(id).toMatch(UUID);
    await eventually(() => serviceLines(id).length > 0);
    expect(serviceLines(id)).toContainEqual(expect.objectContaining({ subject: 'event.list' }));
    expect(gatewayLines(id)).toContainEqual(expect.objectContaining({ route: '/api/events' }));
  });

  it('forwards every id the gateway accepts unchanged, base64 characters included', async () => {
    const id = 'b64+Id/x=~@1';
    const response = await stack.request('GET', '/api/events', undefined, { 'x-request-id': id });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe(id);
    await eventually(() => serviceLines(id).length > 0);
    expect(serviceLines(id)).toContainEqual(expect.objectContaining({ subject: 'event.list' }));
  });

  it('refuses an id that could forge log lines, and logs nothing of it', async () => {
    for (const bad of ['bad id with spaces {"level":"fatal"}', 'x'.repeat(129)]) {
      const response = await stack.request('GET', '/api/events', undefined, { 'x-request-id': bad });
      expect(response.status).toBe(400);
      expect(response.headers.get('x-request-id')).toMatch(UUID);
    }
    expect(stack.logs.gateway.raw() + stack.logs.bookingService.raw()).not.toContain('bad id with spaces');
  });

  it('gives each request its own id', async () => {
    const [first, second] = await Promise.all([
      stack.request('GET', '/api/events'),
      stack.request('GET', '/api/events'),
    ]);
    expect(first.headers.get('x-request-id')).not.toBe(second.headers.get('x-request-id'));
  });

  it("finds what failed for one request: the booking service's warning carries the request's id", async () => {
    const eventId = await stack.db.createEvent(5);
    await postgresProxy.cut();
    try {
      // Once the service is not ready it has seen its connections close: the reservation then finds no
      // connection (503, nothing sent) rather than racing a closing one (504, outcome unknown).
      await waitUntil(
        async () => (await fetch(`${stack.replicaUrls.at(-1)}/health/ready`)).status !== 200,
        10_000,
        'the booking service to notice the database is gone',
      );
      const response = await stack.request(
        'POST',
        '/api/bookings/reserve',
        { event_id: eventId, user_id: 'unlucky' },
        { 'x-request-id': 'failing-request' },
      );
      expect(response.status).toBe(503);
      await eventually(() => serviceLines('failing-request').some((line) => line.level === 'warn'));
      expect(serviceLines('failing-request')).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          context: 'RpcErrorFilter',
          // The driver's reason (refused, terminated, …), not the statement.
          msg: expect.stringMatching(/^Database unavailable: (?!.*(?:params:|INSERT|SELECT))/),
        }),
      );
      // The statement and its parameters (the user id) stay out of the log.
      expect(stack.logs.bookingService.raw()).not.toContain('unlucky');
      expect(serviceLines('failing-request')).toContainEqual(
        expect.objectContaining({ subject: 'booking.reserve', outcome: 'error' }),
      );
      expect(gatewayLines('failing-request')).toContainEqual(expect.objectContaining({ statusCode: 503 }));
    } finally {
      await postgresProxy.restore();
    }
  });

  it('never writes the admin token into a log line', async () => {
    const response = await stack.request(
      'POST',
      '/api/events',
      { name: 'Logged event', total_seats: 2 },
      { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-request-id': 'admin-call' },
    );
    expect(response.status).toBe(201);
    await eventually(() => serviceLines('admin-call').length > 0);
    expect(serviceLines('admin-call').length).toBeGreaterThan(0);
    expect(stack.logs.gateway.raw() + stack.logs.bookingService.raw()).not.toContain(ADMIN_TOKEN);
  });
});

describe('default log level', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ captureLogs: true });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('writes no log line per successful request at the default level (info)', async () => {
    const eventId = await stack.db.createEvent(50);
    const before = stack.logs.gateway.lines().length + stack.logs.bookingService.lines().length;
    for (let i = 0; i < 20; i++) {
      expect((await stack.reserve({ event_id: eventId, user_id: `quiet-${i}` })).status).toBe(201);
    }
    expect((await stack.reserve({ event_id: eventId, user_id: 'quiet-0' })).status).toBe(409);
    const after = stack.logs.gateway.lines().length + stack.logs.bookingService.lines().length;
    expect(after - before).toBe(0);
    // …while start-up did log, in JSON, at info.
    expect(stack.logs.gateway.lines()).toContainEqual(
      expect.objectContaining({ service: 'api-gateway', level: 'info' }),
    );
  });
});
