import { namesFor } from '@booking/shared';
import { PrivateNatsServer, TestDatabase } from '@booking/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumersBacklog } from '../lib/event-backlog.mjs';
import { measureNotificationDrain } from '../lib/notification-drain.mjs';

let nats: PrivateNatsServer;
let database: TestDatabase;

beforeAll(async () => {
  nats = await PrivateNatsServer.start();
  database = await TestDatabase.create();
});

afterAll(async () => {
  await database?.drop();
  await nats?.dispose();
});

/** The drain measurement runs the bundled notification service (`pnpm build`) against a real stream and database. */
describe('notification drain measurement', () => {
  it('puts the events on the stream, has the notification service handle every one, and times the drain', async () => {
    const events = 600;
    const namespace = 'drain';
    const drain = await measureNotificationDrain({ natsUrl: nats.url, databaseUrl: database.url, namespace, events });

    // Events the service took while starting are not timed: the count is taken at its first ready answer (on a
    // quiet machine it may have taken all 600 by then, and nothing is left to time).
    expect(drain.events).toBeLessThanOrEqual(events);
    expect(drain.seconds).toBeGreaterThan(0);
    expect(drain.eventsPerSecond).toBe(Math.round(drain.events / drain.seconds));
    expect(drain.peakRssMb).toBeGreaterThan(0);

    const received = await database.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM notifications.received_events',
    );
    expect(received.rows[0]!.n).toBe(events);
    const connection = await connect({ servers: nats.url });
    try {
      const manager = await jetstreamManager(connection);
      const stream = namesFor(namespace).eventsStream;
      expect((await manager.streams.info(stream)).state.messages).toBe(events);
      expect(await consumersBacklog(manager, stream)).toBe(0);
    } finally {
      await connection.close();
    }
  });
});
