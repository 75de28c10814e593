#!/usr/bin/env node
// `pnpm bench:received-events-index [--seconds S] [--rounds R]`: what the index the notification
// retention reads (received_events.received_at) costs the notification service's write path. Two
// databases of its own (dropped at the end), one without that index; events are recorded through the
// service's DeliveryStore (one transaction per batch of NOTIFICATION_BATCH_SIZE, the log channel and a webhook), S seconds
// per database and round, alternating so that a machine busy with other work weighs on both alike.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connectDatabase, migrateDatabase } from '../libs/database/dist/index.js';
import { DeliveryStore } from '../apps/notification-service/dist/notifications/delivery-store.js';
import { scratchDatabases } from './lib/scratch-databases.mjs';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const BATCH = 256; // NOTIFICATION_BATCH_SIZE's default
const IN_FLIGHT = 4; // batches recorded at once (several consumer batches in flight)
/** Delivered after the commit; the log channel's delivery is recorded with the event. */
const CHANNELS = ['webhook'];

const { urls: URLS, drop: dropDatabases } = scratchDatabases('received_index', ['with', 'without']);
const progress = (message) =>
  process.stderr.write(`[received-events-index] ${new Date().toISOString().slice(11, 19)} ${message}\n`);

const event = () => ({
  id: randomUUID(),
  type: 'booking.created',
  occurred_at: new Date().toISOString(),
  correlation_id: randomUUID(),
  data: { booking_id: 1, event_id: 1, user_id: 'user', created_at: new Date().toISOString() },
});

/** Events recorded per second over `SECONDS`, and the median statement time. */
async function record(store) {
  const latencies = [];
  let recorded = 0;
  const until = Date.now() + SECONDS * 1_000;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (Date.now() < until) {
        const events = Array.from({ length: BATCH }, event);
        const started = performance.now();
        await store.receive(events, CHANNELS, () => undefined);
        latencies.push(performance.now() - started);
        recorded += events.length;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { perSecond: Math.round(recorded / SECONDS), p50: latencies[Math.floor(latencies.length / 2)] };
}

const median = (numbers) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];

async function main() {
  const dbs = [];
  for (const url of URLS) {
    await migrateDatabase(url);
    dbs.push(connectDatabase(url, { poolSize: IN_FLIGHT + 1, statementTimeoutMs: 60_000 }));
  }
  await dbs[1].pool.query('DROP INDEX notifications.received_events_received_at_idx');
  const cases = [
    { label: 'with the received_at index', store: new DeliveryStore(dbs[0]), results: [] },
    { label: 'without it', store: new DeliveryStore(dbs[1]), results: [] },
  ];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of cases) {
        c.results.push(await record(c.store));
        progress(`round ${round}: ${c.label}: ${c.results.at(-1).perSecond} events/s`);
      }
    }
    process.stdout.write(
      `\nEvents recorded through DeliveryStore.receive, ${BATCH} per statement, ${IN_FLIGHT} at once, ` +
        `the log channel and a webhook, ${SECONDS} s per case and round, medians of ${ROUNDS} rounds:\n`,
    );
    for (const c of cases) {
      process.stdout.write(
        `${c.label.padEnd(28)} ${String(median(c.results.map((r) => r.perSecond))).padStart(7)} events/s   ` +
          `statement p50 ${median(c.results.map((r) => r.p50)).toFixed(1)} ms   (per round: ${c.results.map((r) => r.perSecond).join(', ')})\n`,
      );
    }
  } finally {
    await Promise.all(dbs.map((db) => db.close()));
    await dropDatabases();
    progress('databases dropped');
  }
}

await main();
