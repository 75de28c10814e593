#!/usr/bin/env node
// `pnpm bench:waiting-room`: an on-sale through the waiting room on this machine. Starts the system as
// `pnpm start` does, with two gateways, and lets --clients simulated clients join an event's queue
// before its sales open (through both gateways), then opens the sale: admission runs at --rate (or, with
// --p99-target, adapts from it, up to --max-rate, to hold reservations' p99 under the target), each
// admitted client books with its token, until the --seats are sold and the queue closes. Reports joins
// per second, time from opening to sold out, the latency of reservations (the booking path) and of
// admissions during the sale, as the clients saw it and as the gateways measured it, the CPU each process
// spent per booking, and what a waiting client costs in memory: in Redis, and in a gateway for a client
// that holds the live stream open. JSON goes to results/waiting-room.json.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { limited } from '@booking/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import { percentiles } from './lib/load.mjs';
import { cpuTimeMs, perUnitCost, startSample } from './lib/process-cost.mjs';
import { SystemUnderTest } from './lib/system.mjs';
import {
  histogramQuantiles,
  MAX_ATTEMPTS,
  metricsText,
  openStream,
  report,
  request,
  round,
  rssKb,
  Sleepers,
  sum,
  warmUp,
} from './lib/waiting-room-clients.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '50000' },
    seats: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '150' },
    streams: { type: 'string', default: '2000' },
    'in-flight': { type: 'string', default: '256' },
    'p99-target': { type: 'string' },
    'max-rate': { type: 'string' },
  },
});
const CLIENTS = Number(args.clients);
const SEATS = Number(args.seats);
const RATE = Number(args.rate);
const STREAMS = Math.min(Number(args.streams), CLIENTS);
const IN_FLIGHT = Number(args['in-flight']);
const P99_TARGET_MS = args['p99-target'] === undefined ? undefined : Number(args['p99-target']);
const MAX_RATE = args['max-rate'] === undefined ? undefined : Number(args['max-rate']);
/** How long the sample of live streams is held open (their messages measured). */
const STREAMS_HELD_MS = 3_000;
/** Booked, unreported, on another event before the crowd arrives. */
const WARM_UP_BOOKINGS = 1_000;
/** The whole sale, opening to closed queue, at most. */
const SALE_DEADLINE_MS = 10 * 60_000;

const progress = (message) =>
  process.stderr.write(`[waiting-room] ${new Date().toISOString().slice(11, 19)} ${message}\n`);
const { mintToken } = await import(join(root, 'apps/api-gateway/dist/auth/tokens.js'));
const { loadGatewayConfig } = await import(join(root, 'apps/api-gateway/dist/config.js'));

const system = new SystemUnderTest(root, progress);
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => void system.stop().finally(() => process.exit(130)));
let redis;
let pool;
try {
  progress('starting the system (two gateways)…');
  await system.start({
    adminUrl: process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    bookingReplicas: 1,
    gatewayReplicas: 2,
    without: ['notification-service'],
  });
  const gateways = system.instances.filter((instance) => instance.service.name === 'api-gateway');
  const urls = gateways.map((instance) => `http://127.0.0.1:${instance.env.PORT}`);
  const config = loadGatewayConfig(gateways[0].env);
  const admin = { authorization: `Bearer ${await mintToken(config, { sub: 'admin', roles: ['admin'] })}` };
  redis = new Redis(system.redis.url);
  pool = new pg.Pool({ connectionString: system.databaseUrl, max: 2 });
  const loadGenerator = { name: 'load generator', partOfSystem: false, pids: async () => [process.pid] };
  const processes = [...system.processGroups(pool), loadGenerator];
  const result = await onSale({
    urls,
    admin,
    gateways,
    config,
    processes,
    keyPrefix: `${system.names.redisKeyPrefix}wr:`,
  });
  const file = join(root, 'load-testing/results/waiting-room.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(report(result));
  progress(`results in ${file}`);
  if (!result.checks.every((check) => check.passed)) process.exitCode = 1;
} finally {
  redis?.disconnect();
  await pool?.end();
  await system.stop();
}

async function onSale({ urls, admin, gateways, config, processes, keyPrefix }) {
  // A request's latency is its own, from when it is sent, not the time it waited here for a free slot.
  const latencies = { join: [], admission: [], reserve: [] };
  // A 503 says to try again after Retry-After (a gateway that found Redis too slow for a moment): clients
  // do, and the run counts them.
  const send = async (kind, ...args) => {
    for (let attempt = 1; ; attempt++) {
      const response = await sendOnce(kind, ...args);
      if (response.status !== 503 || attempt === MAX_ATTEMPTS) return response;
      retried[kind] = (retried[kind] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  };
  const retried = {};
  const sendOnce = limited(IN_FLIGHT, async (kind, ...args) => {
    const started = performance.now();
    try {
      return await request(...args);
    } finally {
      latencies[kind].push(performance.now() - started);
    }
  });
  progress(`warm-up: ${WARM_UP_BOOKINGS} bookings through another event's waiting room…`);
  await warmUp({ pool, urls, admin, bookings: WARM_UP_BOOKINGS });
  const { rows } = await pool.query(
    `INSERT INTO events (name, total_seats, sales_open_at) VALUES ('On-sale', $1, now() + interval '1 day') RETURNING id`,
    [SEATS],
  );
  const eventId = rows[0].id;
  const room = await request(urls[0], 'PUT', `/api/events/${eventId}/waiting-room`, admin, {
    admissions_per_second: RATE,
    join_opens_before_s: 2 * 86_400,
    ...(P99_TARGET_MS !== undefined && { booking_p99_target_ms: P99_TARGET_MS }),
    ...(MAX_RATE !== undefined && { max_admissions_per_second: MAX_RATE }),
  });
  if (room.status !== 200) throw new Error(`waiting room not switched on: ${room.status} ${JSON.stringify(room.body)}`);

  // Joins: the crowd arrives before the opening, split over both gateways.
  const redisBefore = await usedMemory();
  const rssBefore = gateways.map((instance) => rssKb(instance.child.pid));
  progress(`${CLIENTS} clients join…`);
  const gatewayCpu = () => sum(gateways.map((instance) => cpuTimeMs(instance.child.pid)));
  const cpuBeforeJoins = gatewayCpu();
  const joinStarted = performance.now();
  const tickets = new Array(CLIENTS);
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const joined = await send(
        'join',
        urls[i % urls.length],
        'POST',
        `/api/events/${eventId}/queue`,
        {},
        { user_id: `fan-${i}` },
      );
      if (joined.status !== 200) throw new Error(`join ${i}: ${joined.status} ${JSON.stringify(joined.body)}`);
      tickets[i] = joined.body.ticket;
    }),
  );
  const joinSeconds = (performance.now() - joinStarted) / 1000;
  const cpuPerJoinMs = (gatewayCpu() - cpuBeforeJoins) / CLIENTS;
  const redisPerClient = (await usedMemory()) - redisBefore;
  const rssAfterJoins = gateways.map((instance) => rssKb(instance.child.pid));

  // A live stream per client costs the gateway a connection: measured on a sample that holds one open.
  progress(`${STREAMS} clients open their live stream…`);
  const open = limited(IN_FLIGHT, openStream);
  const streams = await Promise.all(
    Array.from({ length: STREAMS }, (_, i) => open(urls[i % urls.length], eventId, tickets[i])),
  );
  const cpuBeforeStreamTicks = gatewayCpu();
  await new Promise((resolve) => setTimeout(resolve, STREAMS_HELD_MS));
  const streamMessages = (STREAMS * STREAMS_HELD_MS) / config.WAITING_ROOM_TICK_MS;
  const gatewayCpuUsPerStreamMessage = ((gatewayCpu() - cpuBeforeStreamTicks) * 1000) / streamMessages;
  const rssWithStreams = gateways.map((instance) => rssKb(instance.child.pid));
  for (const stream of streams) stream.abort();

  // The opening. Each client learns its final place from its stream; here it is read from the queue once.
  const opensAt = Date.now() + 1_000;
  await request(urls[0], 'PATCH', `/api/events/${eventId}`, admin, { sales_open_at: new Date(opensAt).toISOString() });
  const baseAt = Number(await redis.hget(`${keyPrefix}{${eventId}}:conf`, 'base_at'));
  const order = await redis.zrange(`${keyPrefix}{${eventId}}:q`, 0, -1);
  progress(`sale opens; ${SEATS} seats at ${RATE} admissions/s${P99_TARGET_MS ? ` (adaptive)` : ''}…`);
  const statuses = {};
  let soldOutAt = 0;
  let closed = false;
  // Every client still asleep is woken when the queue closes, so the run ends with the sale.
  const sleepers = new Sleepers();
  const saleDeadline = Date.now() + SALE_DEADLINE_MS;
  const metricsBefore = await Promise.all(urls.map(metricsText));
  const sample = await startSample(processes);
  // The pace as the room has it (it moves when adaptive): clients time their next question by it, as the
  // live stream's estimate would tell them.
  const paces = [];
  let pace = RATE;
  const paceWatch = (async () => {
    while (!closed && Date.now() < saleDeadline) {
      const view = await request(urls[0], 'GET', `/api/events/${eventId}/waiting-room`);
      if (view.status === 200) {
        pace = view.body.admissions_per_second;
        if (paces.at(-1)?.rate !== pace)
          paces.push({ atS: round(Math.max(0, Date.now() - baseAt) / 1000), rate: pace });
      }
      await sleepers.until(Date.now() + 500);
    }
  })();
  const client = async (user) => {
    const i = Number(user.slice('fan-'.length));
    const gateway = urls[i % urls.length];
    for (;;) {
      if (closed || Date.now() > saleDeadline) return;
      const status = await send(
        'admission',
        gateway,
        'POST',
        `/api/events/${eventId}/queue/admission`,
        {},
        {
          ticket: tickets[i],
        },
      );
      if (status.body.state === 'closed') return void (closed = true);
      if (status.body.state === 'admitted') {
        const reservation = await send(
          'reserve',
          gateway,
          'POST',
          '/api/bookings/reserve',
          { 'admission-token': status.body.admission_token },
          { event_id: eventId, user_id: user },
        );
        statuses[reservation.status] = (statuses[reservation.status] ?? 0) + 1;
        if (reservation.status === 201) soldOutAt = Math.max(soldOutAt, Date.now());
        return;
      }
      // A turn come while every seat left is held waits for one to be given back (or the queue to close).
      const waitMs = status.body.state === 'seats_held' ? 250 : (status.body.ahead * 1000) / pace;
      await sleepers.until(Date.now() + Math.max(10, waitMs));
    }
  };
  // Each client asks when the pace reaches its place (as its stream would tell it), in the order of the
  // places: one timer lets them go at the pace the room has now, so that the clients not yet due cost this
  // process nothing.
  const clients = [];
  const clientsLetGo = new Promise((resolve) => {
    let due = 0;
    let last = baseAt;
    const letGo = () => {
      const now = Date.now();
      if (now > baseAt) {
        due += ((now - Math.max(last, baseAt)) * pace) / 1000;
        last = now;
      }
      while (clients.length < Math.min(order.length, Math.floor(due))) clients.push(client(order[clients.length]));
      if (closed || clients.length === order.length || now > saleDeadline) return resolve();
      setTimeout(letGo, 5);
    };
    letGo();
  });
  // Once the queue is closed, the clients still waiting are told by their streams within a tick; here
  // they stop asking.
  // A control beside the sale: the event's page read every 20 ms, which goes through the same gateways
  // and machine but neither Redis's queue nor the booking service's writes.
  const probeLatencies = [];
  const probe = (async () => {
    while (!closed && Date.now() < saleDeadline) {
      const started = performance.now();
      await request(urls[0], 'GET', `/api/events/${eventId}`);
      probeLatencies.push(performance.now() - started);
      await sleepers.until(Date.now() + 20);
    }
  })();
  const closedWatch = (async () => {
    while (!closed && Date.now() < saleDeadline) {
      closed = (await redis.hget(`${keyPrefix}{${eventId}}:conf`, 'closed')) === '1';
      if (!closed) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    sleepers.wakeAll();
    return Date.now();
  })();
  await clientsLetGo;
  await Promise.all(clients);
  const closedAt = await closedWatch;
  await Promise.all([probe, paceWatch]);
  const cost = await sample.finish();
  const metricsAfter = await Promise.all(urls.map(metricsText));
  const measured = (route) =>
    histogramQuantiles(metricsBefore, metricsAfter, 'http_request_duration_seconds', { route, method: 'POST' });

  const bookings = Number(
    (await pool.query('SELECT count(*) FROM bookings WHERE event_id = $1', [eventId])).rows[0].count,
  );
  const admissions = await redis.hlen(`${keyPrefix}{${eventId}}:adm`);
  const used = Object.values(await redis.hgetall(`${keyPrefix}{${eventId}}:tok`)).filter(
    (state) => state === 'used',
  ).length;
  return {
    clients: CLIENTS,
    seats: SEATS,
    admissionsPerSecond: RATE,
    p99TargetMs: P99_TARGET_MS ?? null,
    gateways: urls.length,
    joins: {
      perSecond: Math.round(CLIENTS / joinSeconds),
      seconds: round(joinSeconds),
      latencyMs: percentiles(latencies.join),
      gatewayCpuMsPerJoin: round(cpuPerJoinMs),
    },
    sale: {
      openingToSoldOutMs: soldOutAt - baseAt,
      soldOutToQueueClosedMs: Math.max(0, closedAt - soldOutAt),
      reservations: statuses,
      reserveLatencyMs: percentiles(latencies.reserve),
      // From the gateways' own histograms: the booking path without this process's event loop in the way
      // (each figure is the bucket bound it falls under).
      reserveLatencyAtGatewaysMs: measured('/api/bookings/reserve'),
      admissionLatencyMs: percentiles(latencies.admission),
      admissionLatencyAtGatewaysMs: measured('/api/events/:id/queue/admission'),
      eventReadLatencyMs: percentiles(probeLatencies),
      admissions,
      // Each change of pace, seconds after the opening (an adaptive pace moves; a fixed one stays).
      paceChanges: paces,
      cpuUsPerBooking: perUnitCost(cost, { requests: bookings }).map((row) => ({
        process: row.name,
        cpuUs: row.cpuUsPerUnit,
      })),
    },
    retriedAfter503: retried,
    memory: {
      redisBytesPerWaitingClient: Math.round(redisPerClient / CLIENTS),
      // The gateways keep nothing per client: what their memory grew by is the heap of a busy process.
      gatewayRssGrowthMbAfterJoins: round((sum(rssAfterJoins) - sum(rssBefore)) / 1024),
      gatewayKbPerOpenStream: round((sum(rssWithStreams) - sum(rssAfterJoins)) / STREAMS),
      // CPU, not memory, but also what each follower costs: the gateways' time per live stream and tick (a
      // stream far from its turn is told only every few ticks).
      gatewayCpuUsPerStreamMessage: Math.round(gatewayCpuUsPerStreamMessage),
    },
    checks: [
      { check: 'bookings equal the seats', passed: bookings === SEATS, value: bookings },
      { check: 'every booking used one admission token', passed: used === bookings, value: used },
      {
        check: 'no reservation failed but for want of seats',
        passed: Object.keys(statuses).every((s) => ['201', '409'].includes(s)),
        value: statuses,
      },
    ],
  };

  async function usedMemory() {
    return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
  }
}
