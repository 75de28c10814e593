// How fast the notification service works off a backlog: puts N booking events
// on the stream, starts the service from its bundle, and times it from its
// first acknowledgement to its last, with the CPU it (and its PostgreSQL
// sessions) spent per event.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort, waitForHttpOk } from '@booking/testing';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { SERVICE_NODE_OPTIONS } from '../../scripts/service-node-options.mjs';
import { cpuSeconds } from './process-cpu.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
export const NOTIFICATION_SERVICE_BUNDLE = 'apps/notification-service/dist/bundle/main.js';
const STREAM = 'BOOKING_EVENTS';
const STREAM_SUBJECTS = ['booking.created', 'booking.cancelled', 'booking.failed'];
/** Publishes awaited together: enough to keep JetStream busy, few enough to bound the client's memory. */
const PUBLISH_WINDOW = 1_000;
const POLL_MS = 20;

/**
 * Puts `count` booking events on the BOOKING_EVENTS stream of the nats-server
 * at `natsUrl` (created when missing), then starts the notification service on
 * them with a durable consumer of its own that begins after the stream's
 * earlier messages, and times it until every one is acknowledged. The
 * database at `databaseUrl` must be migrated. The clock starts at the first
 * acknowledgement, so start-up is not counted; `events` are those handled
 * from then on. Every wait has a deadline (`timeoutMs` for the drain).
 *
 * Options: `main` (the service bundle, relative to the repository), `env`
 * (extra environment for the service), `failedShare` (the fraction of events
 * that are `booking.failed`), `timeoutMs`.
 *
 * Returns `{ events, seconds, eventsPerSecond, cpuMsPerEvent, databaseCpuMsPerEvent }`.
 */
export async function measureNotificationDrain(natsUrl, databaseUrl, count, options = {}) {
  const { main = NOTIFICATION_SERVICE_BUNDLE, env = {}, failedShare = 0, timeoutMs = 300_000 } = options;
  const consumerName = `drain-${randomUUID().slice(0, 8)}`;
  const nats = await connect({ servers: natsUrl, name: 'notification drain', timeout: 5_000 });
  const database = new pg.Client({ connectionString: databaseUrl });
  await database.connect();
  let service;
  try {
    const manager = await jetstreamManager(nats);
    await manager.streams.info(STREAM).catch(() => manager.streams.add({ name: STREAM, subjects: STREAM_SUBJECTS }));
    // Created before the events, so it delivers exactly them and none of the stream's earlier messages.
    await manager.consumers.add(STREAM, {
      durable_name: consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
    });
    const ids = await publishEvents(nats, count, failedShare);

    const port = await freePort();
    service = spawn(process.execPath, [join(root, main)], {
      cwd: root,
      env: {
        ...process.env,
        NODE_OPTIONS: SERVICE_NODE_OPTIONS,
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        ...env,
        NATS_URL: natsUrl,
        DATABASE_URL: databaseUrl,
        NOTIFICATION_CONSUMER_NAME: consumerName,
        NOTIFICATION_SERVICE_PORT: String(port),
      },
      // Log lines are written (their cost is part of the work) to /dev/null.
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise((resolve) => service.once('exit', resolve));
    const left = async () => {
      const info = await manager.consumers.info(STREAM, consumerName);
      return info.num_pending + info.num_ack_pending;
    };
    const deadline = Date.now() + timeoutMs;
    const checkDeadline = (what) => {
      if (service.exitCode !== null || service.signalCode !== null) throw new Error('the notification service exited');
      if (Date.now() > deadline) throw new Error(`notification drain: no ${what} within ${timeoutMs} ms`);
    };
    let remaining;
    while ((remaining = await left()) === count) {
      checkDeadline('first acknowledgement');
      await sleep(POLL_MS);
    }
    const startedAt = performance.now();
    const cpuAtStart = cpuSeconds(service.pid);
    const events = remaining;
    while (remaining > 0) {
      checkDeadline('end of the backlog');
      await sleep(POLL_MS);
      remaining = await left();
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const cpu = cpuSeconds(service.pid) - cpuAtStart;
    const databaseCpu = await sessionsCpuSeconds(database, 'notification-service');
    await waitForHttpOk(`http://127.0.0.1:${port}/health/ready`, 5_000);
    const { rows } = await database.query(
      'SELECT count(*)::int AS n FROM notifications.received_events WHERE event_id = ANY($1::uuid[])',
      [ids],
    );
    if (rows[0].n !== ids.length) throw new Error(`recorded ${rows[0].n} of ${ids.length} notified events`);
    service.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000).then(() => service.kill('SIGKILL'))]);
    await manager.consumers.delete(STREAM, consumerName);
    return {
      events,
      seconds: round(seconds, 3),
      eventsPerSecond: Math.round(events / seconds),
      cpuMsPerEvent: round((cpu * 1000) / events, 4),
      // Since each session started (a few queries more than the drain): what the service costs PostgreSQL.
      databaseCpuMsPerEvent: round((databaseCpu * 1000) / events, 4),
    };
  } finally {
    if (service && service.exitCode === null && service.signalCode === null) service.kill('SIGKILL');
    await database.end();
    await nats.close();
  }
}

/** Publishes the events, acknowledged by JetStream; returns the ids of those the service notifies. */
async function publishEvents(nats, count, failedShare) {
  const js = jetstream(nats);
  const notified = [];
  for (let start = 0; start < count; start += PUBLISH_WINDOW) {
    const acks = [];
    for (let i = start; i < Math.min(count, start + PUBLISH_WINDOW); i++) {
      const event = bookingEvent(i, i < count * failedShare);
      if (event.type !== 'booking.failed') notified.push(event.id);
      acks.push(js.publish(event.type, JSON.stringify(event)));
    }
    await Promise.all(acks);
  }
  return notified;
}

function bookingEvent(i, failed) {
  const envelope = {
    id: randomUUID(),
    occurred_at: new Date().toISOString(),
    correlation_id: randomUUID(),
  };
  const user = `drain-user-${i}`;
  return failed
    ? {
        ...envelope,
        type: 'booking.failed',
        data: { event_id: 1, user_id: user, reason: 'sold_out', message: 'No available seats for event 1' },
      }
    : {
        ...envelope,
        type: 'booking.created',
        data: { booking_id: i + 1, event_id: 1 + (i % 100), user_id: user, created_at: envelope.occurred_at },
      };
}

/** CPU seconds used by the PostgreSQL backends of one application name (processes on this machine). */
async function sessionsCpuSeconds(database, applicationName) {
  const { rows } = await database.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
    applicationName,
  ]);
  return rows.reduce((sum, { pid }) => sum + cpuSeconds(pid), 0);
}

const round = (value, digits) => Number(value.toFixed(digits));
