import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BOOKING_EVENTS_STREAM_LIMITS, ensureBookingEventsStream, namesFor } from '@booking/shared';

const NAMES = namesFor('');
import { freePort, NatsCluster, PrivateRedisServer, TestDatabase, waitForHttpOk, waitUntil } from '@booking/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBookingEvents } from '../../../booking-service/src/replay/read-booking-events.js';
import { startGateway } from '../../src/app.js';
import { loadGatewayConfig } from '../../src/config.js';
import { errorWindow, expectTruthfulOutcomes, ReservationLoad } from './fault-load.js';

const SERVICE_MAIN = (app: string) => fileURLToPath(new URL(`../../../${app}/dist/bundle/main.js`, import.meta.url));
/** 5xx (or no answer) only this long around the loss of a NATS node. */
const ERROR_WINDOW_BOUND_MS = 10_000;
const NODE_DOWN_MS = 5_000;

/**
 * The deployment of the ha overlay, in processes: a 3-node NATS cluster with the booking events
 * stream on all three, two booking-service replicas, two gateways and the notification service,
 * under a steady load of reservations. The node leading the stream is killed (SIGKILL) and
 * restarted NODE_DOWN_MS later. Every client must have been told the truth, every booking must be
 * on the stream exactly once, the consumer must catch up, and errors stay inside a bounded window.
 */
describe('NATS cluster: a node lost and back under load', () => {
  let db: TestDatabase;
  let cluster: NatsCluster;
  let redis: PrivateRedisServer;
  let nats: NatsConnection;
  const children: ChildProcess[] = [];
  const gateways: INestApplication[] = [];
  const gatewayUrls: string[] = [];

  const serviceEnv = () => ({
    NATS_URL: cluster.url,
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '5',
    BOOKING_EVENTS_REPLICAS: '3',
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
  });

  async function startService(app: 'booking-service' | 'notification-service'): Promise<void> {
    const port = await freePort();
    const portVariable = app === 'booking-service' ? 'BOOKING_SERVICE_PORT' : 'NOTIFICATION_SERVICE_PORT';
    const child = spawn(process.execPath, [SERVICE_MAIN(app)], {
      env: { ...process.env, ...serviceEnv(), NOTIFY_WEBHOOK_URL: '', [portVariable]: String(port) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    await waitForHttpOk(`http://127.0.0.1:${port}/health/ready`, 30_000, () => child.exitCode === null);
  }

  // Six processes started one after another: on a loaded machine that outlasts the default hook timeout.
  beforeAll(async () => {
    [db, cluster, redis] = await Promise.all([TestDatabase.create(), NatsCluster.start(3), PrivateRedisServer.start()]);
    // One at a time: on a busy machine, start-ups side by side can outlast JetStream's API timeout.
    await startService('booking-service');
    await startService('booking-service');
    await startService('notification-service');
    for (let i = 0; i < 2; i++) {
      const config = loadGatewayConfig({
        NATS_URL: cluster.url,
        REDIS_URL: redis.url,
        PORT: '0',
        HOST: '127.0.0.1',
        NODE_ENV: 'test',
        RATE_LIMIT_IP_MAX: '1000000',
      });
      const gateway = await startGateway(config, { logger: false });
      gateways.push(gateway);
      gatewayUrls.push((await gateway.getUrl()).replace('[::1]', '127.0.0.1'));
    }
    nats = await connect({ servers: cluster.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  }, 120_000);

  afterAll(async () => {
    await nats?.close();
    await Promise.all(gateways.map((gateway) => gateway.close()));
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await Promise.all([cluster?.dispose(), db?.drop(), redis?.stop()]);
  });

  it('the stream leader killed and restarted mid-load: nothing lost, nothing doubled, errors only briefly', async () => {
    const before = await streamInfo(nats);
    expect(before.config.num_replicas).toBe(3);
    expect(before.cluster?.replicas).toHaveLength(2);

    const eventId = await db.createEvent(1_000_000, 'nats-cluster');
    let turn = 0;
    const load = new ReservationLoad(() => gatewayUrls[turn++ % gatewayUrls.length]!, eventId, 'cluster');
    await load.booked(40, 0, 20_000, 'bookings before the node is lost');

    const leader = cluster.node(before.cluster!.leader!);
    const killedAt = Date.now();
    await leader.stop();
    await sleep(NODE_DOWN_MS);
    await leader.resume();
    const backAt = Date.now();
    await load.booked(40, backAt, 20_000, 'bookings after the node is back');
    const answers = await load.stop();

    const failed = answers.filter((answer) => answer.status >= 500 || answer.status === 0);
    const window = errorWindow(failed, killedAt);
    const duringOutage = answers.filter((answer) => answer.sentAt >= killedAt && answer.answeredAt < backAt);
    const bookedDuringOutage = duringOutage.filter((answer) => answer.status === 201).length;
    const slowestMs = Math.max(0, ...duringOutage.map((answer) => answer.answeredAt - answer.sentAt));
    console.info(
      `NATS stream leader killed for ${NODE_DOWN_MS} ms: ${JSON.stringify(load.statuses())}; ` +
        `${bookedDuringOutage} booked while it was down, the slowest answer then ${slowestMs} ms; ` +
        `5xx window ${window.durationMs} ms (from ${window.startMs} ms after the kill)`,
    );

    // The restarted node caught up (the stream is read below once its cluster has settled: a read while
    // the leader changes may wait out the JetStream API's timeout).
    await waitUntil(
      async () => {
        // While the leader changes, the stream's info may itself wait out the API's timeout: not settled yet.
        const info = await streamInfo(nats).catch((error: unknown) => {
          if (error instanceof Error && error.name === 'TimeoutError') return undefined;
          throw error;
        });
        return info?.cluster?.replicas?.length === 2 && info.cluster.replicas.every((r) => r.current && !r.offline);
      },
      20_000,
      'stream replicas current again',
    );
    await expectTruthfulOutcomes(
      {
        db,
        outboxDrained: (timeoutMs = 20_000) =>
          waitUntil(
            async () => (await db.query('SELECT 1 FROM outbox_pending LIMIT 1')).rowCount === 0,
            timeoutMs,
            'outbox rows still unpublished',
          ),
        streamEvents: async () => (await readBookingEvents(nats, { stream: NAMES.eventsStream })).events,
      },
      eventId,
      answers,
    );
    // The other two nodes kept the stream: bookings went on while the leader was down.
    expect(bookedDuringOutage).toBeGreaterThan(0);
    // No error answered before the node was lost (those in flight then may fail), and none long after.
    expect(failed.filter((answer) => answer.answeredAt < killedAt)).toEqual([]);
    expect(window.durationMs).toBeLessThan(ERROR_WINDOW_BOUND_MS);

    // The notification service has taken every event.
    const consumerInfo = () =>
      jetStreamApi<ConsumerInfo>(nats, `CONSUMER.INFO.${NAMES.eventsStream}.notification-service`);
    await waitUntil(
      async () => {
        const consumer = await consumerInfo();
        return consumer.num_pending === 0 && consumer.num_ack_pending === 0;
      },
      30_000,
      'the notification consumer caught up',
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await consumerInfo())}`);
    });
    console.info(`notification consumer: nothing pending, checked ${Date.now() - backAt} ms after the node was back`);
  });

  it('brings an existing stream to BOOKING_EVENTS_REPLICAS, down and up again', async () => {
    await ensureBookingEventsStream(nats, NAMES, { ...DEFAULT_BOOKING_EVENTS_STREAM_LIMITS, replicas: 1 });
    const single = await streamInfo(nats);
    expect(single.config.num_replicas).toBe(1);
    expect(single.cluster?.replicas ?? []).toHaveLength(0);
    await ensureBookingEventsStream(nats, NAMES, { ...DEFAULT_BOOKING_EVENTS_STREAM_LIMITS, replicas: 3 });
    await waitUntil(
      async () => {
        const info = await streamInfo(nats);
        return info.config.num_replicas === 3 && info.cluster?.replicas?.filter((r) => r.current).length === 2;
      },
      20_000,
      'the stream on three nodes again',
    );
  });
});

interface ConsumerInfo {
  num_pending: number;
  num_ack_pending: number;
}

interface StreamInfo {
  config: { num_replicas: number };
  cluster?: { leader?: string; replicas?: { name: string; current: boolean; offline?: boolean }[] };
}

/** A JetStream API request (the gateway's package needs no JetStream client for the two it makes here). */
async function jetStreamApi<T>(nats: NatsConnection, subject: string): Promise<T> {
  const reply = (await nats.request(`$JS.API.${subject}`, '', { timeout: 5_000 })).json<T & { error?: unknown }>();
  if (reply.error) throw new Error(`${subject}: ${JSON.stringify(reply.error)}`);
  return reply;
}

const streamInfo = (nats: NatsConnection) => jetStreamApi<StreamInfo>(nats, `STREAM.INFO.${NAMES.eventsStream}`);
