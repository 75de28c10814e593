// How fast the notification service works through a backlog: `events` booking
// events published straight to the stream while no notification service runs
// (the caller stops its own first), then one started from its bundle with the
// environment `pnpm start` gives, and timed from its first ready answer until
// its durable consumer has nothing left. The events are counted at that first
// ready answer, so those it took while starting are not credited to the rate.
// What it and its PostgreSQL sessions spent is read from /proc.
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BookingEventType, ensureBookingEventsStream, namesFor } from '@booking/shared';
import { freePort } from '@booking/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { SERVICES } from '../../scripts/services.mjs';
import { consumersBacklog, msUntilZero } from './event-backlog.mjs';
import { cpuTimeMs, peakRssMb } from './process-cost.mjs';
import { serviceEnvironment, startService, stopProcess } from './system.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
/** Publishes awaiting their acknowledgement at once. */
const PUBLISH_WINDOW = 500;
const DRAIN_TIMEOUT_MS = 300_000;

/**
 * `{ events, seconds, eventsPerSecond }`, plus the notification process's CPU time over the drain
 * (`cpuMs`), its peak resident memory (`peakRssMb`) and the CPU time of its PostgreSQL sessions
 * (`databaseCpuMs`). Throws unless every published event was recorded.
 */
export async function measureNotificationDrain({ natsUrl, databaseUrl, namespace = '', events }) {
  const names = namesFor(namespace);
  const nats = await connect({ servers: natsUrl, name: 'bench-drain', timeout: 5_000 });
  const database = new pg.Client({ connectionString: databaseUrl });
  await database.connect();
  try {
    await ensureBookingEventsStream(nats, names);
    const ids = await publishBookingEvents(nats, names, events);
    const manager = await jetstreamManager(nats, { timeout: 5_000 });
    const service = SERVICES.find(({ name }) => name === 'notification-service');
    const env = {
      ...serviceEnvironment({ databaseUrl, natsUrl, namespace }),
      [service.portVariable]: String(await freePort()),
    };
    const child = await startService(root, service, env);
    try {
      const readyAt = performance.now();
      const cpuAtReady = cpuTimeMs(child.pid);
      const databaseCpuAtReady = await sessionsCpuMs(database);
      const counted = await consumersBacklog(manager, names.eventsStream);
      const ms = await msUntilZero(() => consumersBacklog(manager, names.eventsStream), DRAIN_TIMEOUT_MS, readyAt);
      if (ms === undefined) throw new Error(`the notification service did not drain within ${DRAIN_TIMEOUT_MS} ms`);
      const seconds = Math.max(ms, 1) / 1000;
      const result = {
        events: counted,
        seconds,
        eventsPerSecond: Math.round(counted / seconds),
        cpuMs: Math.round(cpuTimeMs(child.pid) - cpuAtReady),
        databaseCpuMs: Math.round((await sessionsCpuMs(database)) - databaseCpuAtReady),
        peakRssMb: peakRssMb(child.pid),
      };
      const { rows } = await database.query(
        'SELECT count(*)::int AS n FROM notifications.received_events WHERE event_id = ANY($1::uuid[])',
        [ids],
      );
      if (rows[0].n !== ids.length) throw new Error(`recorded ${rows[0].n} of the ${ids.length} events published`);
      return result;
    } finally {
      await stopProcess(child);
    }
  } finally {
    await database.end();
    await nats.close();
  }
}

/** Publishes `count` booking.created envelopes, each with an id of its own (the JetStream message id too); returns the ids. */
async function publishBookingEvents(nats, names, count) {
  const js = jetstream(nats, { timeout: 5_000 });
  const occurredAt = new Date().toISOString();
  const ids = [];
  for (let first = 0; first < count; first += PUBLISH_WINDOW) {
    const window = [];
    for (let n = first; n < Math.min(count, first + PUBLISH_WINDOW); n++) {
      const event = {
        id: randomUUID(),
        type: BookingEventType.created,
        occurred_at: occurredAt,
        correlation_id: 'bench-notification-drain',
        data: { booking_id: n + 1, event_id: 1 + (n % 100), user_id: `drain-user-${n}`, created_at: occurredAt },
      };
      ids.push(event.id);
      window.push(js.publish(names.eventSubject(event.type), JSON.stringify(event), { msgID: event.id }));
    }
    await Promise.all(window);
  }
  return ids;
}

/** CPU time (ms) of the notification service's PostgreSQL backends (processes on this machine). */
async function sessionsCpuMs(database) {
  const { rows } = await database.query(
    "SELECT pid FROM pg_stat_activity WHERE application_name = 'notification-service' AND datname = current_database()",
  );
  return rows.reduce((sum, { pid }) => sum + (cpuTimeMs(pid) ?? 0), 0);
}
