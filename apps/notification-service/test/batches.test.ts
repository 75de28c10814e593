import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrivateNatsServer, TestDatabase, waitUntil } from '@booking/testing';
import { ensureBookingEventsStream, namesFor, type BookingEvent, type BookingEventType } from '@booking/shared';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../api-gateway/test/support/stack.js';
import { startNotificationService } from '../src/app.js';
import { loadNotificationServiceConfig } from '../src/config.js';
import { WebhookReceiver } from './webhook-receiver.js';

interface RunningService {
  app: INestApplication;
  consumer: string;
  logs: LogCapture;
}

/**
 * The consumer's batches against a private nats-server and PostgreSQL: events
 * published on the stream directly (including ones no booking service would
 * write), each test with a durable consumer of its own that starts after the
 * earlier tests' events.
 */
const NAMES = namesFor('');

describe('notification service: batches', () => {
  let db: TestDatabase;
  let natsServer: PrivateNatsServer;
  let nats: NatsConnection;
  let manager: JetStreamManager;
  const services: INestApplication[] = [];
  let consumers = 0;

  beforeAll(async () => {
    [db, natsServer] = await Promise.all([TestDatabase.create(), PrivateNatsServer.start()]);
    nats = await connect({ servers: natsServer.url });
    await ensureBookingEventsStream(nats, NAMES);
    manager = await jetstreamManager(nats);
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    await nats?.close();
    await natsServer?.dispose();
    await db?.drop();
  });

  /** A durable consumer as an earlier version left it (no filter), from now on; the service starts on it. */
  async function newConsumer(): Promise<string> {
    const name = `notifications-${++consumers}`;
    await manager.consumers.add(NAMES.eventsStream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
    });
    return name;
  }

  async function startService(consumer: string, env: Record<string, string> = {}): Promise<RunningService> {
    const logs = new LogCapture();
    const app = await startNotificationService(
      loadNotificationServiceConfig({
        NATS_URL: natsServer.url,
        DATABASE_URL: db.url,
        DATABASE_POOL_SIZE: '4',
        NODE_ENV: 'test',
        NOTIFICATION_SERVICE_PORT: '0',
        NOTIFICATION_CONSUMER_NAME: consumer,
        ...env,
      }),
      { logDestination: logs },
    );
    services.push(app);
    return { app, consumer, logs };
  }

  const js = () => jetstream(nats);
  const publish = (events: BookingEvent[]) =>
    Promise.all(events.map((event) => js().publish(event.type, JSON.stringify(event))));

  /** Resolves once the consumer has nothing undelivered or unacknowledged left. */
  const drained = (consumer: string) =>
    waitUntil(
      async () => {
        const info = await manager.consumers.info(NAMES.eventsStream, consumer);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      30_000,
      `consumer ${consumer} drained`,
    );

  const recorded = async (ids: string[]) =>
    (
      await db.query<{ event_id: string }>(
        'SELECT event_id FROM notifications.received_events WHERE event_id = ANY($1::uuid[])',
        [ids],
      )
    ).rows.map((row) => row.event_id);

  const deliveryStatus = async (id: string, channel: string) =>
    (
      await db.query<{ status: string }>(
        'SELECT status FROM notifications.deliveries WHERE event_id = $1 AND channel = $2',
        [id, channel],
      )
    ).rows[0]?.status;

  async function metric(app: INestApplication, line: RegExp): Promise<number> {
    const text = await (await fetch(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/metrics`)).text();
    const match = text.split('\n').find((candidate) => line.test(candidate));
    return match ? Number(match.split(' ').at(-1)) : 0;
  }

  it('works off a backlog in batches: each event recorded and logged once, a statement per batch', async () => {
    const consumer = await newConsumer();
    const events = Array.from({ length: 1_000 }, (_, i) => created(i));
    await publish(events); // a backlog before the service starts
    const { app, logs } = await startService(consumer);
    await drained(consumer);

    const ids = events.map((event) => event.id);
    expect((await recorded(ids)).sort()).toEqual([...ids].sort());
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM notifications.deliveries
        WHERE event_id = ANY($1::uuid[]) AND channel = 'log' AND status = 'delivered' AND attempts = 1`,
      [ids],
    );
    expect(Number(rows[0]!.n)).toBe(1_000);
    // One transaction records a batch, the log deliveries with it (never updated after), and no envelope is
    // kept without a channel that could dead-letter the event. Rows written by one transaction share its xmin.
    const { rows: written } = await db.query<{ transactions: string; updated: string; envelopes: string }>(
      `SELECT count(DISTINCT r.xmin::text) AS transactions,
              count(*) FILTER (WHERE d.xmin <> r.xmin) AS updated,
              count(r.envelope) AS envelopes
         FROM notifications.received_events r JOIN notifications.deliveries d USING (event_id)
        WHERE event_id = ANY($1::uuid[])`,
      [ids],
    );
    const { transactions, updated, envelopes } = written[0]!;
    console.info(`1,000 events: recorded by ${transactions} transactions`);
    expect(Number(transactions)).toBeGreaterThan(0);
    expect(Number(transactions)).toBeLessThanOrEqual(50);
    expect(Number(updated)).toBe(0);
    expect(Number(envelopes)).toBe(0);
    expect(await metric(app, /^notification_deliveries_total\{channel="log",result="delivered"\}/)).toBe(1_000);

    // The log channel's line: the event's facts as fields, the envelope id apart from the event booked.
    const lines = logs.lines().filter((line) => line.context === 'Notification');
    expect(lines).toHaveLength(1_000);
    const first = events[0]!;
    expect(lines.find((line) => line.message_id === first.id)).toMatchObject({
      level: 'info',
      msg: 'Booking made',
      notification: 'booking.created',
      message_id: first.id,
      booking_id: 1,
      event_id: 1,
      user_id: 'fan-0',
      correlationId: first.correlation_id,
      occurred_at: first.occurred_at,
    });
  });

  it('a batch waits NOTIFICATION_BATCH_DELAY_MS for more events, and goes at once when full', async () => {
    const consumer = await newConsumer();
    await startService(consumer, { NOTIFICATION_BATCH_SIZE: '4', NOTIFICATION_BATCH_DELAY_MS: '10000' });
    const events = Array.from({ length: 4 }, (_, i) => created(i));
    const ids = events.map((event) => event.id);
    for (const event of events.slice(0, 3)) await publish([event]);
    await sleep(1_000);
    expect(await recorded(ids)).toEqual([]);

    await publish([events[3]!]);
    await waitUntil(async () => (await recorded(ids)).length === 4, 5_000, 'the full batch recorded');
    const { rows } = await db.query<{ n: string }>(
      'SELECT count(DISTINCT xmin::text) AS n FROM notifications.received_events WHERE event_id = ANY($1::uuid[])',
      [ids],
    );
    expect(Number(rows[0]!.n)).toBe(1);
  });

  it('logs an event once however often it comes, and finishes a log delivery an earlier version left pending', async () => {
    const consumer = await newConsumer();
    const { logs } = await startService(consumer);
    const handled = created(0);
    await publish([handled]);
    await drained(consumer);
    // Recorded by a version that wrote the log delivery as pending and updated it after the line.
    const left = created(1);
    await db.query(
      `INSERT INTO notifications.received_events (event_id, type, correlation_id, envelope) VALUES ($1, $2, $3, $4)`,
      [left.id, left.type, left.correlation_id, JSON.stringify(left)],
    );
    await db.query(`INSERT INTO notifications.deliveries (event_id, channel, status) VALUES ($1, 'log', 'pending')`, [
      left.id,
    ]);
    await publish([handled, left, handled]);
    await drained(consumer);

    const lines = logs.lines().filter((line) => line.context === 'Notification');
    expect(lines.map((line) => line.message_id as string).sort()).toEqual([handled.id, left.id].sort());
    expect(await deliveryStatus(left.id, 'log')).toBe('delivered');
  });

  it('drops malformed and unstorable messages loudly; the rest of their batch is recorded', async () => {
    const consumer = await newConsumer();
    const good = Array.from({ length: 80 }, (_, i) => created(i));
    const notUuid = { ...created(1_000), id: 'not-a-uuid' }; // passes the schema, refused by PostgreSQL
    // JSON allows a NUL, jsonb does not; in a field the service stores (the envelope is kept only for a webhook).
    const nul = { ...created(1_001), correlation_id: 'nul\u0000byte' };
    await publish(good.slice(0, 40));
    await js().publish('booking.created', 'this is not JSON');
    await publish([notUuid, nul]);
    await publish(good.slice(40));
    const { logs } = await startService(consumer);
    await drained(consumer);

    const ids = good.map((event) => event.id);
    expect((await recorded(ids)).sort()).toEqual([...ids].sort());
    expect(await recorded([nul.id])).toEqual([]);
    const info = await manager.consumers.info(NAMES.eventsStream, consumer);
    expect(info.num_redelivered).toBe(0); // terminated, not offered again
    const drops = logs.lines().filter((line) => line.level === 'error' && /^Dropping message/.test(line.msg));
    expect(drops.map((line) => line.msg)).toEqual([
      expect.stringMatching(/malformed booking event/),
      expect.stringMatching(/unstorable booking event: invalid input syntax for type uuid/),
      expect.stringMatching(/unstorable booking event: unsupported Unicode escape sequence/),
    ]);
  });

  it('a webhook slow for one event holds back neither the log channel nor the other events', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const receiver = new WebhookReceiver((userId) => (userId === 'held' ? gate.then(() => 200) : 200));
    const url = await receiver.start();
    try {
      const consumer = await newConsumer();
      const { app } = await startService(consumer, {
        NOTIFY_WEBHOOK_URL: url,
        NOTIFY_WEBHOOK_CONCURRENCY: '4',
        NOTIFY_WEBHOOK_MAX_ATTEMPTS: '1',
        NOTIFY_WEBHOOK_TIMEOUT_MS: '60000',
        NOTIFICATION_HANDLE_TIMEOUT_MS: '120000',
      });
      const held = { ...created(0), data: { ...created(0).data, user_id: 'held' } };
      const others = Array.from({ length: 30 }, (_, i) => created(i + 1));
      await publish([held, ...others]);

      await waitUntil(
        async () =>
          (
            await db.query(
              `SELECT 1 FROM notifications.deliveries WHERE event_id = ANY($1::uuid[]) AND status = 'delivered'`,
              [[held.id, ...others.map((event) => event.id)]],
            )
          ).rowCount ===
          1 + 2 * others.length,
        15_000,
        'every delivery but the held webhook',
      );
      expect(await deliveryStatus(held.id, 'webhook')).toBe('pending');
      expect(await deliveryStatus(held.id, 'log')).toBe('delivered');
      // The other events are acknowledged; only the held one is still in flight.
      await waitUntil(
        async () => (await manager.consumers.info(NAMES.eventsStream, consumer)).num_ack_pending === 1,
        5_000,
        'only the held event unacknowledged',
      );
      expect(await metric(app, /^notification_consumer_ack_pending_messages /)).toBe(1);

      release();
      await drained(consumer);
      expect(await deliveryStatus(held.id, 'webhook')).toBe('delivered');
      expect(receiver.for(held.id)).toHaveLength(1);
    } finally {
      release();
      await receiver.stop();
    }
  });

  it('takes only the configured event types; an existing consumer gets the new filter at start-up', async () => {
    const consumer = await newConsumer();
    const onlyCreated = await startService(consumer, { NOTIFICATION_EVENT_TYPES: 'booking.created' });
    const filterOf = async () => (await manager.consumers.info(NAMES.eventsStream, consumer)).config;
    expect(await filterOf()).toMatchObject({ filter_subject: 'booking.created' });
    const first = [created(0), cancelled(1), failed(2)];
    await publish(first);
    await drained(consumer);
    expect(await recorded(first.map((event) => event.id))).toEqual([first[0]!.id]);
    await onlyCreated.app.close();
    services.splice(0);

    // The default: bookings and cancellations. A server from 2.10 on filters both; an older one cannot
    // hold two filters, so the consumer takes everything and the service acknowledges the rest unread.
    const byDefault = await startService(consumer);
    const config = await filterOf();
    const serverFilters = nats.info!.version.localeCompare('2.10.0', undefined, { numeric: true }) >= 0;
    if (serverFilters) {
      expect(config.filter_subjects).toEqual(['booking.created', 'booking.cancelled']);
    } else {
      expect(config.filter_subject ?? '').toBe('');
      expect(byDefault.logs.raw()).toContain('cannot filter a consumer by several subjects');
    }
    const second = [created(3), cancelled(4), failed(5)];
    await publish(second);
    await drained(consumer);
    expect((await recorded(second.map((event) => event.id))).sort()).toEqual([second[0]!.id, second[1]!.id].sort());
  });

  it("leaves an organiser's event.updated alone by default; configured, records and logs it like any other", async () => {
    const consumer = await newConsumer();
    const byDefault = await startService(consumer);
    const first = [updated(0), created(1)];
    await publish(first);
    await drained(consumer);
    expect(await recorded(first.map((event) => event.id))).toEqual([first[1]!.id]);
    await byDefault.app.close();
    services.splice(0);

    const all = await startService(consumer, {
      NOTIFICATION_EVENT_TYPES: 'booking.created,booking.cancelled,booking.failed,event.updated',
    });
    const second = [updated(2), failed(3)];
    await publish(second);
    await drained(consumer);
    expect((await recorded(second.map((event) => event.id))).sort()).toEqual(second.map((event) => event.id).sort());
    await waitUntil(async () => (await deliveryStatus(second[0]!.id, 'log')) === 'delivered', 10_000, 'logged');
    const line = all.logs.lines().find((entry) => entry.message_id === second[0]!.id);
    expect(line).toMatchObject({ notification: 'event.updated', actor: 'organiser', changed: ['total_seats'] });
  });

  it('refuses an unknown event type; a repeated one counts once', () => {
    expect(() => loadNotificationServiceConfig({ NOTIFICATION_EVENT_TYPES: 'booking.created,booking.made' })).toThrow(
      /NOTIFICATION_EVENT_TYPES/,
    );
    expect(
      loadNotificationServiceConfig({ NOTIFICATION_EVENT_TYPES: ' booking.failed, booking.created,booking.failed' })
        .NOTIFICATION_EVENT_TYPES,
    ).toEqual(['booking.failed', 'booking.created']);
  });
});

function envelope<T extends BookingEventType>(type: T) {
  const now = new Date().toISOString();
  return { id: randomUUID(), type, occurred_at: now, correlation_id: `request-${randomUUID()}` };
}

const created = (i: number) => ({
  ...envelope('booking.created'),
  data: { booking_id: i + 1, event_id: 1 + (i % 5), user_id: `fan-${i}`, created_at: new Date().toISOString() },
});

const cancelled = (i: number): BookingEvent => ({
  ...envelope('booking.cancelled'),
  data: { booking_id: i + 1, event_id: 1, user_id: `fan-${i}`, cancelled_at: new Date().toISOString() },
});

const failed = (i: number): BookingEvent => ({
  ...envelope('booking.failed'),
  data: { event_id: 1, user_id: `fan-${i}`, reason: 'sold_out', message: 'No available seats for event 1' },
});

const updated = (i: number): BookingEvent => ({
  ...envelope('event.updated'),
  data: {
    event_id: 1,
    action: 'change',
    actor: 'organiser',
    changes: { total_seats: { from: 10, to: 10 + i } },
    booked_seats: 3,
  },
});
