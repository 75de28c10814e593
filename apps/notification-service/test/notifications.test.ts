import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '@booking/testing';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessKeyOf, Stack } from '../../api-gateway/test/support/stack.js';
import { startNotificationService } from '../src/app.js';
import { loadNotificationServiceConfig } from '../src/config.js';
import { WebhookReceiver } from './webhook-receiver.js';

const MAX_ATTEMPTS = 4;

describe('notification service: channels, retries, dead letters', () => {
  let stack: Stack;
  let service: INestApplication;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 1 });
    receiver = new WebhookReceiver((userId, previous) => {
      if (userId.startsWith('flaky')) return previous < 3 ? 503 : 200; // fails three times, then succeeds
      if (userId.startsWith('broken')) return 500; // always fails
      if (userId.startsWith('rejected')) return 400; // a permanent failure: not retried
      if (userId.startsWith('slow')) return sleep(1_500).then(() => 200); // beyond the timeout
      return 200;
    });
    const url = await receiver.start();
    service = await startNotificationService(
      loadNotificationServiceConfig({
        ...stack.serviceEnv,
        NOTIFICATION_SERVICE_PORT: '0',
        NOTIFY_WEBHOOK_URL: url,
        NOTIFY_WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        NOTIFY_WEBHOOK_TIMEOUT_MS: '300',
        NOTIFY_WEBHOOK_BACKOFF_INITIAL_MS: '20',
        NOTIFY_WEBHOOK_BACKOFF_MAX_MS: '200',
      }),
      { logger: false },
    );
  });
  afterAll(async () => {
    await service?.close();
    await receiver?.stop();
    await stack?.stop();
  });

  const delivery = async (eventId: string, channel: string) =>
    (
      await stack.db.query<{ status: string; attempts: number; last_error: string | null }>(
        'SELECT status, attempts, last_error FROM notifications.deliveries WHERE event_id = $1 AND channel = $2',
        [eventId, channel],
      )
    ).rows[0];

  async function bookAndWait(userId: string, eventId: number): Promise<string> {
    const response = await stack.reserve({ event_id: eventId, user_id: userId });
    expect(response.status).toBe(201);
    const { rows } = await stack.db.query<{ id: string }>('SELECT id FROM outbox WHERE booking_id = $1', [
      response.body.id,
    ]);
    const id = rows[0]!.id;
    await waitUntil(
      async () => ['delivered', 'dead_letter'].includes((await delivery(id, 'webhook'))?.status ?? ''),
      15_000,
      `webhook delivery of ${userId}`,
    );
    return id;
  }

  it('health endpoints answer', async () => {
    const base = (await service.getUrl()).replace('[::1]', '127.0.0.1');
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
  });

  it('a webhook failing three times then succeeding gets exactly one successful delivery', async () => {
    const eventId = await stack.db.createEvent(10);
    const id = await bookAndWait('flaky-1', eventId);
    expect(receiver.for(id).map((r) => r.status)).toEqual([503, 503, 503, 200]);
    expect(await delivery(id, 'webhook')).toMatchObject({ status: 'delivered', attempts: 4 });
    expect(await delivery(id, 'log')).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('a webhook that always fails ends in the dead-letter record after the maximum attempts', async () => {
    const eventId = await stack.db.createEvent(10);
    const id = await bookAndWait('broken-1', eventId);
    expect(receiver.for(id).map((r) => r.status)).toEqual(Array(MAX_ATTEMPTS).fill(500));
    expect(await delivery(id, 'webhook')).toEqual({
      status: 'dead_letter',
      attempts: MAX_ATTEMPTS,
      last_error: 'HTTP 500 from webhook',
    });
    // The envelope is kept with the dead letter, so it can be re-driven.
    const { rows } = await stack.db.query<{ envelope: { id: string; data: { user_id: string } } }>(
      'SELECT envelope FROM notifications.received_events WHERE event_id = $1',
      [id],
    );
    expect(rows[0]!.envelope).toMatchObject({ id, data: { user_id: 'broken-1' } });
  });

  it('a 4xx answer is permanent: dead-lettered after one attempt', async () => {
    const eventId = await stack.db.createEvent(10);
    const id = await bookAndWait('rejected-1', eventId);
    expect(receiver.for(id)).toHaveLength(1);
    expect(await delivery(id, 'webhook')).toMatchObject({ status: 'dead_letter', attempts: 1 });
  });

  it('each attempt has a timeout', async () => {
    const eventId = await stack.db.createEvent(10);
    const id = await bookAndWait('slow-1', eventId);
    expect(await delivery(id, 'webhook')).toMatchObject({
      status: 'dead_letter',
      attempts: MAX_ATTEMPTS,
      last_error: 'timed out after 300 ms',
    });
  });

  it('every booking.created and booking.cancelled is recorded exactly once; booking.failed is not notified by default', async () => {
    const eventId = await stack.db.createEvent(2);
    const a = await stack.reserve({ event_id: eventId, user_id: 'a' });
    await stack.reserve({ event_id: eventId, user_id: 'a' }); // booking.failed
    await stack.cancel(a.body.id, accessKeyOf(a));
    await stack.outboxDrained();
    const stream = await stack.streamEvents();
    const notifiedIds = stream.filter((s) => s.event.type !== 'booking.failed').map((s) => s.event.id);
    const failedIds = stream.filter((s) => s.event.type === 'booking.failed').map((s) => s.event.id);
    expect(failedIds.length).toBeGreaterThan(0);
    await waitUntil(
      async () =>
        (await stack.db.query("SELECT 1 FROM notifications.deliveries WHERE status = 'pending'")).rowCount === 0 &&
        (await stack.db.query('SELECT 1 FROM notifications.received_events')).rowCount === notifiedIds.length,
      15_000,
      'all events handled',
    );
    const { rows } = await stack.db.query<{ event_id: string; channels: string }>(
      `SELECT r.event_id, count(d.*) AS channels FROM notifications.received_events r
       JOIN notifications.deliveries d USING (event_id) GROUP BY r.event_id`,
    );
    expect(rows.map((r) => r.event_id).sort()).toEqual([...notifiedIds].sort());
    expect(rows.every((r) => Number(r.channels) === 2)).toBe(true);
    expect(receiver.requests.filter((r) => failedIds.includes(r.eventId))).toEqual([]);
  });
});
