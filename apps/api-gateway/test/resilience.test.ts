import { BookingSubjects } from '@booking/shared';
import { freePort, waitUntil } from '@booking/testing';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBookingService } from '../../booking-service/src/app.js';
import { loadBookingServiceConfig } from '../../booking-service/src/config.js';
import { Stack } from './support/stack.js';

describe('gateway when the booking side fails', () => {
  let stack: Stack;

  beforeAll(async () => {
    // A short request deadline, with a database statement limit short enough to fit in it.
    stack = await Stack.start({
      inProcessReplicas: 0,
      gatewayEnv: { NATS_REQUEST_TIMEOUT_MS: '2500' },
      serviceEnv: { DATABASE_STATEMENT_TIMEOUT_MS: '500', NATS_REQUEST_TIMEOUT_MS: '2500' },
    });
  });
  afterEach(async () => {
    await stack.stopReplicas();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers 503 after a short wait for a replica when no booking service is running', async () => {
    const started = Date.now();
    const response = await stack.reserve({ event_id: 1, user_id: 'u' });
    expect(response.status).toBe(503);
    expect(response.body).toEqual({
      message: 'The booking service is unavailable; try again shortly',
      error: 'Service Unavailable',
      statusCode: 503,
    });
    // NATS itself said "no responders", again and again for about a second; never the whole deadline.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers 504 when the booking service does not reply in time', async () => {
    const silent = await connect({ servers: stack.nats.url });
    silent.subscribe(BookingSubjects.reserve, { queue: 'booking-service', callback: () => undefined });
    await silent.flush();
    try {
      const started = Date.now();
      const response = await stack.reserve({ event_id: 1, user_id: 'u' });
      expect(response.status).toBe(504);
      expect(response.body).toEqual({
        message:
          'The booking service did not answer within 2500 ms; retry with the same Idempotency-Key to learn the outcome',
        error: 'Gateway Timeout',
        statusCode: 504,
        outcome: 'unknown',
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2450);
    } finally {
      await silent.close();
    }
  });

  it('answers 503 when the booking service cannot reach PostgreSQL, and reports not ready', async () => {
    const deadPort = await freePort();
    const healthPort = await freePort();
    const replica = await startBookingService(
      loadBookingServiceConfig({
        ...stack.serviceEnv,
        DATABASE_URL: `postgresql://postgres@127.0.0.1:${deadPort}/nowhere`,
        BOOKING_SERVICE_PORT: String(healthPort),
      }),
      { logger: false },
    );
    stack.replicas.push(replica);
    const response = await stack.reserve({ event_id: 1, user_id: 'u' });
    expect(response.status).toBe(503);
    expect(response.body.message).toBe('The booking database is unavailable; try again shortly');
    const ready = await fetch(`http://127.0.0.1:${healthPort}/health/ready`);
    expect(ready.status).toBe(503);
  });

  it('survives a NATS outage: 503 and not ready while down, serving again after it returns', async () => {
    await stack.startInProcessReplica();
    const eventId = await stack.db.createEvent(10);
    expect((await stack.reserve({ event_id: eventId, user_id: 'before' })).status).toBe(201);

    await stack.nats.stop();
    await waitUntil(
      async () => (await stack.request('GET', '/health/ready')).status === 503,
      10_000,
      'gateway not ready',
    );
    const during = await stack.reserve({ event_id: eventId, user_id: 'during' });
    expect(during.status).toBe(503);

    await stack.nats.resume();
    await waitUntil(
      async () => (await stack.reserve({ event_id: eventId, user_id: 'after' })).status === 201,
      15_000,
      'a booking after NATS returned',
    );
    expect((await stack.request('GET', '/health/ready')).status).toBe(200);
    expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(2);
  });
});
