import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BookingSubjects, commonEnvSchema, namesFor, natsConnectionOptions } from '@booking/shared';
import { PrivateRedisServer, TestCertificates, waitUntil } from '@booking/testing';
import {
  AuthorizationError,
  connect,
  PermissionViolationError,
  RequestError,
  type NatsConnection,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseClient } from './support/sse.js';
import { ADMIN_TOKEN, Stack } from './support/stack.js';

/** The shipped permissions: the file Compose and the NATS chart give nats-server. */
const AUTHORIZATION = fileURLToPath(new URL('../../../infrastructure/nats/authorization.conf', import.meta.url));
const NOTIFICATION_SERVICE_MAIN = fileURLToPath(
  new URL('../../notification-service/dist/bundle/main.js', import.meta.url),
);
/** The variables authorization.conf takes the passwords from. */
const PASSWORDS = {
  NATS_GATEWAY_PASSWORD: 'test-gateway-password',
  NATS_BOOKING_PASSWORD: 'test-booking-password',
  NATS_NOTIFICATION_PASSWORD: 'test-notification-password',
};
const GATEWAY = { NATS_USER: 'api-gateway', NATS_PASSWORD: PASSWORDS.NATS_GATEWAY_PASSWORD };
const BOOKING = { NATS_USER: 'booking-service', NATS_PASSWORD: PASSWORDS.NATS_BOOKING_PASSWORD };
const NOTIFICATION = { NATS_USER: 'notification-service', NATS_PASSWORD: PASSWORDS.NATS_NOTIFICATION_PASSWORD };
const NAMES = namesFor('');

const isPermissionViolation = (error: unknown): boolean =>
  error instanceof PermissionViolationError ||
  (error instanceof RequestError && error.cause instanceof PermissionViolationError);

/** What a client sees of a publish: the permission violations the server reported for it within a round trip. */
async function publishViolations(connection: NatsConnection, subject: string): Promise<string[]> {
  const seen: string[] = [];
  const statuses = connection.status();
  const reading = (async () => {
    for await (const status of statuses) {
      if (status.type === 'error' && status.error instanceof PermissionViolationError) seen.push(status.error.message);
    }
  })();
  connection.publish(subject, '{}');
  await connection.flush();
  await new Promise(setImmediate);
  statuses.stop();
  await reading;
  return seen;
}

/**
 * nats-server started with infrastructure/nats/authorization.conf and TLS, and the three services with
 * their own credentials and the CA: each may do its own work and nothing else, and a client without
 * credentials, or without the CA, cannot connect.
 */
describe('NATS between the services: one user each, over TLS', () => {
  let certificates: TestCertificates;
  let redis: PrivateRedisServer;
  let stack: Stack;
  let gatewayEnv: Record<string, string>;
  const connections: NatsConnection[] = [];

  /** A client connected as the shared connection code connects a service with `env`. */
  const connectAs = async (env: Record<string, string>): Promise<NatsConnection> => {
    const config = commonEnvSchema.parse({ NATS_URL: stack.nats.url, NATS_TLS_CA_FILE: certificates.caFile, ...env });
    const connection = await connect({ ...natsConnectionOptions(config, 'nats-security test'), timeout: 5_000 });
    connections.push(connection);
    return connection;
  };

  /** Messages in the booking events stream (a JetStream API request with the booking service's credentials). */
  const storedEvents = async (): Promise<number> => {
    const booking = await connectAs(BOOKING);
    const reply = await booking.request(`$JS.API.STREAM.INFO.${NAMES.eventsStream}`, '', { timeout: 5_000 });
    return reply.json<{ state: { messages: number } }>().state.messages;
  };

  beforeAll(async () => {
    certificates = TestCertificates.create();
    const tls = { NATS_TLS_CA_FILE: certificates.caFile };
    redis = await PrivateRedisServer.start({ tls: certificates });
    gatewayEnv = { ...GATEWAY, ...tls, REDIS_URL: redis.url, REDIS_TLS_CA_FILE: certificates.caFile };
    stack = await Stack.start({
      natsServer: {
        extraArgs: ['-c', AUTHORIZATION, '--tls', '--tlscert', certificates.certFile, '--tlskey', certificates.keyFile],
        env: PASSWORDS,
      },
      serviceEnv: { ...BOOKING, ...tls },
      gatewayEnv,
    });
    await stack.startNotificationProcess({ ...NOTIFICATION, ...tls });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    await stack?.stop();
    await redis?.stop();
    certificates?.dispose();
  });

  it('books end to end: 201, the live feed and the notification service see the booking', async () => {
    const created = await stack.request(
      'POST',
      '/api/events',
      { name: 'Secured', total_seats: 5 },
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    );
    expect(created.status).toBe(201);
    const eventId: number = created.body.id;
    const live = await SseClient.open(`${stack.baseUrl}/api/events/live`);
    try {
      // Through the gateway's Redis over TLS too: an idempotency record is written and replayed.
      const headers = { 'idempotency-key': `secured-${eventId}` };
      const reservation = await stack.reserve({ event_id: eventId, user_id: 'secure-1' }, headers);
      expect(reservation.status).toBe(201);
      const again = await stack.reserve({ event_id: eventId, user_id: 'secure-1' }, headers);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const seats = await live.waitFor(
        (message) => message.event === 'seats' && JSON.parse(message.data).event_id === eventId,
        10_000,
      );
      expect(JSON.parse(seats.data)).toMatchObject({ event_id: eventId, available_seats: 4 });
      await waitUntil(
        async () =>
          (
            await stack.db.query(
              `SELECT 1 FROM notifications.received_events r JOIN outbox o ON o.id = r.event_id
                WHERE o.booking_id = $1 AND r.type = 'booking.created'`,
              [reservation.body.id],
            )
          ).rowCount === 1,
        20_000,
        'the notification service did not record the booking',
      );
    } finally {
      live.close();
    }
  });

  it('refuses a client without credentials or with a wrong password', async () => {
    await expect(connectAs({})).rejects.toBeInstanceOf(AuthorizationError);
    await expect(connectAs({ ...GATEWAY, NATS_PASSWORD: 'not-the-password' })).rejects.toBeInstanceOf(
      AuthorizationError,
    );
  });

  it("the gateway's credentials reach every request subject, and the booking service answers each", async () => {
    const gateway = await connectAs(GATEWAY);
    for (const pattern of Object.values(BookingSubjects)) {
      // Nest's packet; whatever the booking service makes of the empty payload, it answers.
      const packet = JSON.stringify({ pattern, data: {}, id: pattern });
      const reply = await gateway.request(NAMES.requestSubject(pattern), packet, { timeout: 5_000 });
      expect(reply.json(), pattern).toMatchObject({ id: pattern, response: { ok: expect.any(Boolean) } });
    }
  });

  it("the gateway's credentials cannot publish a booking event, answer a request or read another's replies", async () => {
    const gateway = await connectAs(GATEWAY);
    const before = await storedEvents();
    expect(await publishViolations(gateway, NAMES.eventSubject('booking.created'))).toEqual([
      expect.stringMatching(/Permissions Violation for Publish to "booking.created"/),
    ]);
    // A JetStream publish: a request whose answer would be the stream's acknowledgement.
    const published = gateway.request(NAMES.eventSubject('booking.created'), '{}', { timeout: 5_000 });
    await expect(published).rejects.toSatisfy(isPermissionViolation);
    expect(await storedEvents()).toBe(before);

    const answering = gateway.subscribe(NAMES.requestSubject(BookingSubjects.reserve), { queue: NAMES.queueGroup });
    expect(await answering.closed).toBeInstanceOf(PermissionViolationError);
    const eavesdropping = gateway.subscribe('_INBOX.booking-service.>');
    expect(await eavesdropping.closed).toBeInstanceOf(PermissionViolationError);
  });

  it("the notification service's credentials cannot send requests or publish booking events", async () => {
    const notification = await connectAs(NOTIFICATION);
    await expect(
      notification.request(NAMES.requestSubject(BookingSubjects.reserve), '{}', { timeout: 5_000 }),
    ).rejects.toSatisfy(isPermissionViolation);
    await expect(
      notification.request(NAMES.requestSubject(BookingSubjects.createEvent), '{}', { timeout: 5_000 }),
    ).rejects.toSatisfy(isPermissionViolation);
    expect(await publishViolations(notification, NAMES.eventSubject('booking.cancelled'))).toHaveLength(1);
    const reading = notification.subscribe('_INBOX.api-gateway.>');
    expect(await reading.closed).toBeInstanceOf(PermissionViolationError);
  });

  it("the booking service's credentials cannot send requests to itself or take the notification consumer's messages", async () => {
    const booking = await connectAs(BOOKING);
    await expect(
      booking.request(NAMES.requestSubject(BookingSubjects.reserve), '{}', { timeout: 5_000 }),
    ).rejects.toSatisfy(isPermissionViolation);
    expect(
      await publishViolations(booking, `$JS.ACK.${NAMES.eventsStream}.notification-service.1.1.1.1.1`),
    ).toHaveLength(1);
  });

  it('a client without the CA cannot connect, and a service without it stops with the reason', async () => {
    await expect(connectAs({ ...GATEWAY, NATS_TLS_CA_FILE: '' })).rejects.toThrow(/certificate/);
    const child = spawn(process.execPath, [NOTIFICATION_SERVICE_MAIN], {
      env: {
        ...process.env,
        ...stack.serviceEnv,
        ...NOTIFICATION,
        NATS_TLS_CA_FILE: '',
        NOTIFY_WEBHOOK_URL: '',
        NOTIFICATION_SERVICE_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stop = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(stop);
    expect(code).toBe(1);
    expect(output).toMatch(/unable to verify the first certificate/);
  }, 30_000);

  it("a gateway without Redis's CA refuses keyed requests (503), as with Redis down", async () => {
    const url = await stack.startExtraGateway({ ...gatewayEnv, REDIS_TLS_CA_FILE: '' });
    const keyed = await fetch(`${url}/api/bookings/reserve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'no-ca-1' },
      body: JSON.stringify({ event_id: 1, user_id: 'no-ca' }),
    });
    expect(keyed.status).toBe(503);
  });
});
