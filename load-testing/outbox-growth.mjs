#!/usr/bin/env node
// `pnpm bench:outbox-growth [--rows N] [--seconds S] [--rounds R] [--random-ids]`: does a long outbox slow
// reservations, and what does the outbox retention cost them? Two databases of its own (dropped at
// the end): one whose outbox stays empty, one whose outbox holds N rows spread over 60 days. Reservations
// go through the booking service's reservation rules and repository (batches of RESERVE_BATCH_SIZE, as many in flight as
// RESERVE_MAX_IN_FLIGHT). Each round measures, S seconds each: the empty outbox, the long one, the long
// one while the retention deletes its half past 30 days with its default batch and pause, and without
// pause. --random-ids gives the long outbox random (v4) ids, filled and reserved alike, instead of
// time-ordered ones. The rounds alternate so that a
// machine busy with other work weighs on every case alike; reported are the medians, each case's median
// ratio to the empty outbox of the same round, and the outbox index pages read per reservation.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { connectDatabase, migrateDatabase } from '../libs/database/dist/index.js';
import { BookingRepository } from '../apps/booking-service/dist/booking/booking.repository.js';
import { Reservations } from '../apps/booking-service/dist/booking/reservations.js';
import { OUTBOX_RETENTION_SQL } from '../apps/booking-service/dist/outbox/outbox-retention.js';
import { scratchDatabases } from './lib/scratch-databases.mjs';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'random-ids': { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const BATCH = 100; // RESERVE_BATCH_SIZE's default
const IN_FLIGHT = 4; // RESERVE_MAX_IN_FLIGHT's default
const FILL_CHUNK = 500_000;
const SPAN_DAYS = 60;
const RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

const { urls: URLS, drop: dropDatabases } = scratchDatabases('outbox_growth', ['empty', 'long']);
const progress = (message) =>
  process.stderr.write(`[outbox-growth] ${new Date().toISOString().slice(11, 19)} ${message}\n`);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** Reservations for `SECONDS`, IN_FLIGHT batches at a time, on fresh events; per-batch latencies. */
/** Pages of the outbox's indexes found in shared buffers (hit) or read into them (read), so far. */
async function outboxIndexPages(db) {
  const { rows } = await db.pool.query(
    `SELECT coalesce(sum(idx_blks_read), 0)::int8 AS read, coalesce(sum(idx_blks_hit), 0)::int8 AS hit
       FROM pg_statio_user_indexes WHERE relname = 'outbox'`,
  );
  return { read: Number(rows[0].read), hit: Number(rows[0].hit) };
}

async function reserveFor(repository, db, label) {
  const { rows } = await db.pool.query(
    `INSERT INTO events (name, total_seats) SELECT 'outbox growth ' || i, 100000000 FROM generate_series(1, 10) AS i RETURNING id`,
  );
  const eventIds = rows.map((row) => row.id);
  const latencies = [];
  let reserved = 0;
  const pagesBefore = await outboxIndexPages(db);
  const until = Date.now() + SECONDS * 1_000;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, worker) => {
      for (let n = 0; Date.now() < until; n++) {
        const commands = Array.from({ length: BATCH }, (_, i) => ({
          event_id: eventIds[(n + i) % eventIds.length],
          user_id: `${label}-${worker}-${n}-${i}`,
        }));
        const started = performance.now();
        const outcomes = await repository.reserveMany(
          commands,
          commands.map((command) => command.user_id),
          Date.now() + 5_000,
        );
        latencies.push(performance.now() - started);
        reserved += outcomes.filter((outcome) => 'booking' in outcome).length;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  // Backends report their statistics within a second of going idle.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const pagesAfter = await outboxIndexPages(db);
  return {
    pagesRead: (pagesAfter.read - pagesBefore.read) / reserved,
    pagesHit: (pagesAfter.hit - pagesBefore.hit) / reserved,
    perSecond: Math.round(reserved / SECONDS),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    load: loadavg()[0],
  };
}

/** The retention's statement in a loop, as RetentionJob runs it, timing each batch, until `stop`. */
async function retain(db, batchSize, pauseMs, stop) {
  const client = await db.pool.connect();
  const cutoff = new Date(Date.now() - RETENTION_DAYS * DAY_MS);
  const latencies = [];
  let deleted = 0;
  const started = performance.now();
  try {
    while (!stop.stopped) {
      const t = performance.now();
      const { rowCount } = await client.query(OUTBOX_RETENTION_SQL, [cutoff, batchSize]);
      latencies.push(performance.now() - t);
      deleted += rowCount;
      if (rowCount < batchSize) break;
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  } finally {
    client.release();
  }
  latencies.sort((a, b) => a - b);
  const seconds = (performance.now() - started) / 1_000;
  return {
    deleted,
    perSecond: Math.round(deleted / seconds),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function fillOutbox(db) {
  const start = new Date(Date.now() - SPAN_DAYS * DAY_MS);
  const stepMs = (SPAN_DAYS * DAY_MS) / ROWS;
  // The rows are published already: none goes to outbox_pending (the relay would have dequeued it).
  await db.pool.query('ALTER TABLE outbox DISABLE TRIGGER outbox_enqueue');
  for (let first = 1; first <= ROWS; first += FILL_CHUNK) {
    const last = Math.min(ROWS, first + FILL_CHUNK - 1);
    // Half bookings, half refusals, shaped as the repository writes them.
    await db.pool.query(
      `INSERT INTO outbox (type, booking_id, event_id, correlation_id, data, occurred_at)
       SELECT CASE WHEN i % 2 = 0 THEN 'booking.created' ELSE 'booking.failed' END,
              CASE WHEN i % 2 = 0 THEN i END,
              1 + i % 1000,
              md5(i::text),
              CASE WHEN i % 2 = 0
                THEN jsonb_build_object('booking_id', i, 'event_id', 1 + i % 1000, 'user_id', 'user-' || i,
                                        'created_at', '2026-01-01T00:00:00.000Z')
                ELSE jsonb_build_object('event_id', 1 + i % 1000, 'user_id', 'user-' || i, 'reason', 'sold_out',
                                        'message', 'Event is sold out')
              END,
              $3::timestamptz + (i - 1) * $4::float8 * interval '1 millisecond'
         FROM generate_series($1::bigint, $2::bigint) AS i`,
      [first, last, start, stepMs],
    );
    progress(`outbox: ${last} rows`);
  }
  await db.pool.query('ALTER TABLE outbox ENABLE TRIGGER outbox_enqueue');
  progress('VACUUM ANALYZE outbox');
  await db.pool.query('VACUUM ANALYZE outbox');
}

const median = (numbers) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];

const format = (label, results, baseline) =>
  `${label.padEnd(50)} ${String(median(results.map((r) => r.perSecond))).padStart(7)} reservations/s   ` +
  `x${median(results.map((r, i) => r.perSecond / baseline[i].perSecond)).toFixed(2)}   ` +
  `index pages/reservation read ${median(results.map((r) => r.pagesRead)).toFixed(2)} hit ${median(results.map((r) => r.pagesHit)).toFixed(2)}   ` +
  `batch p50 ${median(results.map((r) => r.p50))
    .toFixed(1)
    .padStart(6)} ms   p99 ${median(results.map((r) => r.p99))
    .toFixed(1)
    .padStart(6)} ms` +
  `   (per round: ${results.map((r) => r.perSecond).join(', ')})`;

async function main() {
  progress(`databases ${URLS.map((url) => new URL(url).pathname.slice(1)).join(', ')}`);
  const dbs = [];
  for (const url of URLS) {
    await migrateDatabase(url);
    dbs.push(connectDatabase(url, { poolSize: IN_FLIGHT + 2, statementTimeoutMs: 60_000 }));
  }
  const cases = [
    { label: 'empty outbox', db: dbs[0] },
    { label: `outbox of ${ROWS} rows${values['random-ids'] ? ', random ids' : ''}`, db: dbs[1] },
    { label: `outbox of ${ROWS} rows, retention 1000 rows / 100 ms pause`, db: dbs[1], pauseMs: 100 },
    { label: `outbox of ${ROWS} rows, retention 1000 rows / no pause`, db: dbs[1], pauseMs: 0 },
  ].map((c) => ({
    ...c,
    repository: new Reservations(new BookingRepository(c.db), console),
    results: [],
    retention: [],
  }));
  const lines = [];
  try {
    if (values['random-ids'])
      await dbs[1].pool.query('ALTER TABLE outbox ALTER COLUMN id SET DEFAULT gen_random_uuid()');
    const fillStarted = performance.now();
    await fillOutbox(dbs[1]);
    const { rows: size } = await dbs[1].pool.query(
      `SELECT count(*)::int AS rows, pg_size_pretty(pg_total_relation_size('outbox')) AS size FROM outbox`,
    );
    lines.push(
      `outbox filled: ${size[0].rows} rows, ${size[0].size} with its indexes, in ${((performance.now() - fillStarted) / 1_000).toFixed(0)} s`,
    );
    progress(lines.at(-1));

    const { rows: plan } = await dbs[1].pool.query(
      `EXPLAIN (ANALYZE, BUFFERS) ${OUTBOX_RETENTION_SQL.replace('$1', `now() - interval '${SPAN_DAYS * 2} days'`).replace('$2', '1000')}`,
    );
    const byIndex = plan.some((row) => row['QUERY PLAN'].includes('outbox_position_unique'));
    lines.push(
      `retention batch with nothing due: ${plan.at(-1)['QUERY PLAN']} (${byIndex ? 'walks the position index' : 'NOT by the position index'})`,
    );
    progress(lines.at(-1));

    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of cases) {
        const stop = { stopped: false };
        const deleting = c.pauseMs === undefined ? undefined : retain(c.db, 1_000, c.pauseMs, stop);
        const result = await reserveFor(c.repository, c.db, `r${round}-${c.results.length}`);
        stop.stopped = true;
        c.results.push(result);
        if (deleting) c.retention.push(await deleting);
        // The relay's part: what was reserved is published; the empty outbox stays empty.
        await c.db.pool.query(c === cases[0] ? 'TRUNCATE outbox, outbox_pending' : 'TRUNCATE outbox_pending');
        progress(`round ${round}: ${c.label}: ${result.perSecond} reservations/s, load ${result.load.toFixed(1)}`);
      }
    }

    process.stdout.write(
      `\nReservations through Reservations.reserveMany, ${BATCH} per batch, ${IN_FLIGHT} batches in flight, ` +
        `${SECONDS} s per case and round, medians of ${ROUNDS} rounds (x: ratio to the empty outbox in the same round):\n`,
    );
    for (const c of cases) {
      process.stdout.write(`${format(c.label, c.results, cases[0].results)}\n`);
      if (c.retention.length > 0) {
        process.stdout.write(
          `  retention meanwhile: ${median(c.retention.map((r) => r.perSecond))} rows/s deleted, ` +
            `batch p50 ${median(c.retention.map((r) => r.p50)).toFixed(1)} ms, p99 ${median(c.retention.map((r) => r.p99)).toFixed(1)} ms\n`,
        );
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await Promise.all(dbs.map((db) => db.close()));
    await dropDatabases();
    progress('databases dropped');
  }
}

await main();
