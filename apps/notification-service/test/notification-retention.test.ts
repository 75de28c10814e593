import { randomUUID } from 'node:crypto';
import { RetentionJob } from '@booking/database';
import { TestDatabase } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNotificationServiceConfig } from '../src/config.js';
import { NOTIFICATION_RETENTION_SQL } from '../src/notifications/notification-retention.js';

const DAY_MS = 86_400_000;

describe('notification retention', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await TestDatabase.create();
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** A received event `ageMs` old with one delivery per entry of `statuses` (channel = its index). */
  async function receive(ageMs: number, statuses: string[]): Promise<string> {
    const id = randomUUID();
    await db.query(
      `INSERT INTO notifications.received_events (event_id, type, correlation_id, envelope, received_at)
       VALUES ($1, 'booking.created', 'c', '{}'::jsonb, now() - $2 * interval '1 millisecond')`,
      [id, ageMs],
    );
    for (const [channel, status] of statuses.entries()) {
      await db.query('INSERT INTO notifications.deliveries (event_id, channel, status) VALUES ($1, $2, $3)', [
        id,
        `channel-${channel}`,
        status,
      ]);
    }
    return id;
  }

  const kept = async () =>
    (await db.query<{ event_id: string }>('SELECT event_id FROM notifications.received_events')).rows
      .map((row) => row.event_id)
      .sort();
  const deliveriesOf = async (ids: string[]) =>
    Number(
      (
        await db.query<{ n: string }>(
          'SELECT count(*) AS n FROM notifications.deliveries WHERE event_id = ANY($1::uuid[])',
          [ids],
        )
      ).rows[0]!.n,
    );

  it('deletes old events with their deliveries in batches, never one with a delivery still pending', async () => {
    const delivered = await receive(10 * DAY_MS, ['delivered', 'delivered']);
    const deadLetter = await receive(9 * DAY_MS, ['delivered', 'dead_letter']);
    const stillPending = await receive(20 * DAY_MS, ['delivered', 'pending']);
    const recent = await receive(6 * DAY_MS, ['delivered']);
    const noDeliveries = await receive(8 * DAY_MS, []);

    const job = new RetentionJob(db.connection.pool, 'notification retention', NOTIFICATION_RETENTION_SQL, {
      retentionMs: 7 * DAY_MS,
      intervalMs: 60_000,
      batchSize: 2,
      pauseMs: 0,
    });
    // Three due events in batches of two: 2, then 1.
    expect(await job.runPass()).toMatchObject({ deleted: 3, batches: 2 });
    expect(await kept()).toEqual([stillPending, recent].sort());
    expect(await deliveriesOf([delivered, deadLetter, noDeliveries])).toBe(0);
    expect(await deliveriesOf([stillPending])).toBe(2);

    // Once its last delivery is settled, the event goes too.
    await db.query("UPDATE notifications.deliveries SET status = 'delivered' WHERE event_id = $1", [stillPending]);
    expect(await job.runPass()).toMatchObject({ deleted: 1, batches: 1 });
    expect(await kept()).toEqual([recent]);
  });

  it('finds what is due through the received_at index, not by reading the whole table', async () => {
    await db.query(
      `INSERT INTO notifications.received_events (event_id, type, correlation_id, envelope, received_at)
       SELECT gen_random_uuid(), 'booking.created', 'c', '{}'::jsonb, now() - i * interval '1 second'
         FROM generate_series(1, 20000) AS i`,
    );
    await db.query('ANALYZE notifications.received_events');
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN ${NOTIFICATION_RETENTION_SQL.replace('$1', "now() - interval '7 days'").replace('$2', '1000')}`,
    );
    expect(rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('received_events_received_at_idx');
  });

  it('settings: 7 days by default, longer than the stream keeps events', () => {
    expect(loadNotificationServiceConfig({}).NOTIFICATION_RETENTION).toBe(7 * DAY_MS);
    expect(() => loadNotificationServiceConfig({ NOTIFICATION_RETENTION: '3d' })).toThrow(
      'NOTIFICATION_RETENTION: must be 0 or longer than BOOKING_EVENTS_MAX_AGE',
    );
    expect(
      loadNotificationServiceConfig({ NOTIFICATION_RETENTION: '0', BOOKING_EVENTS_MAX_AGE: '0' })
        .NOTIFICATION_RETENTION,
    ).toBe(0);
  });
});
