import { fileURLToPath } from 'node:url';
import {
  commonEnvSchema,
  DEFAULT_BOOKING_EVENTS_STREAM_LIMITS,
  namesFor,
  natsConnectionOptions,
} from '@booking/shared';
import { PrivateNatsServer } from '@booking/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStreamOrWait } from '../src/notifications/events-stream.js';

const AUTHORIZATION = fileURLToPath(new URL('../../../infrastructure/nats/authorization.conf', import.meta.url));
const PASSWORDS = { NATS_GATEWAY_PASSWORD: 'gw', NATS_BOOKING_PASSWORD: 'bk', NATS_NOTIFICATION_PASSWORD: 'nt' };

/** The notification service's start with the shipped NATS permissions: the stream is the booking service's to create. */
describe('the booking events stream, seen by a consumer that may not create it', () => {
  let server: PrivateNatsServer;
  const connections: NatsConnection[] = [];

  const connectAs = async (user: string, password: string): Promise<NatsConnection> => {
    const config = commonEnvSchema.parse({ NATS_URL: server.url, NATS_USER: user, NATS_PASSWORD: password });
    const connection = await connect(natsConnectionOptions(config, 'events-stream test'));
    connections.push(connection);
    return connection;
  };

  beforeAll(async () => {
    server = await PrivateNatsServer.start({ extraArgs: ['-c', AUTHORIZATION], env: PASSWORDS });
  });
  afterAll(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    await server?.dispose();
  });

  it('gives up after the wait with the reason when nobody creates the stream', async () => {
    const names = namesFor('');
    const notification = await connectAs('notification-service', PASSWORDS.NATS_NOTIFICATION_PASSWORD);
    const waited: string[] = [];
    const started = Date.now();
    await expect(
      ensureStreamOrWait(notification, names, DEFAULT_BOOKING_EVENTS_STREAM_LIMITS, {
        signal: new AbortController().signal,
        onWait: (stream) => waited.push(stream),
        waitMs: 1_000,
        pollMs: 100,
      }),
    ).rejects.toThrow('stream BOOKING_EVENTS was not created within 1000 ms (the booking service creates it)');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(waited).toEqual(['BOOKING_EVENTS']);
  });

  it('goes on once the booking service has created it', async () => {
    const names = namesFor('');
    const notification = await connectAs('notification-service', PASSWORDS.NATS_NOTIFICATION_PASSWORD);
    const booking = await connectAs('booking-service', PASSWORDS.NATS_BOOKING_PASSWORD);
    let waiting!: () => void;
    const waitBegan = new Promise<void>((resolve) => (waiting = resolve));
    const ready = ensureStreamOrWait(notification, names, DEFAULT_BOOKING_EVENTS_STREAM_LIMITS, {
      signal: new AbortController().signal,
      onWait: () => waiting(),
      waitMs: 30_000,
      pollMs: 100,
    });
    await waitBegan;
    await (
      await jetstreamManager(booking)
    ).streams.add({ name: names.eventsStream, subjects: [...names.eventSubjects] });
    await expect(ready).resolves.toBeUndefined();
  });
});
