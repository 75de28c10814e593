#!/usr/bin/env node
// `pnpm bench`: the load harness. Starts the system (or targets --url), runs the
// scenarios, checks the database after each, measures pgbench and a bare Node
// server in the same run, and writes a table, JSON and an SVG chart to results/.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { constants, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureNginx, freePort, NginxProxy, PrivateNatsServer } from '@booking/testing';
import pg from 'pg';
import { bareNodeServer, pgbenchReserve } from './lib/baselines.mjs';
import { checkInvariants } from './lib/checks.mjs';
import { runLoad } from './lib/load.mjs';
import { flashSaleSummary, latencyChartSvg, printTable } from './lib/report.mjs';
import { recreateDatabase, SystemUnderTest } from './lib/system.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS = ['baseline', 'flash', 'read', 'pgbench', 'bare'];
const USAGE = `Usage: pnpm bench [options]

  --scenarios LIST        comma-separated: ${SCENARIOS.join(',')} (default: all)
  --seconds N             length of each measured run (default 10)
  --warm-up N             unreported load before the first scenario (default 5)
  --repeat N              runs per scenario; the median is reported (default 1)
  --booking-replicas N    booking services to start (default 1)
  --gateway-replicas N    gateways to start; more than one runs behind nginx (default 1)
  --url URL               target a running gateway instead (repeatable); needs --database-url
  --database-url URL      the database the checks read, with --url
  -h, --help              this text`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      url: { type: 'string', multiple: true },
      'database-url': { type: 'string' },
      seconds: { type: 'string', default: '10' },
      // Unreported load first, so that every scenario meets warm JIT-compiled code and filled pools.
      'warm-up': { type: 'string', default: '5' },
      repeat: { type: 'string', default: '1' },
      'booking-replicas': { type: 'string', default: '1' },
      'gateway-replicas': { type: 'string', default: '1' },
      scenarios: { type: 'string', default: SCENARIOS.join(',') },
    },
  });
} catch (error) {
  usageError(error.message);
}
const args = parsed.values;
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
/** A whole number of at least `min`, or exit with the option's name and the usage. */
function count(option, min = 1) {
  const value = Number(args[option]);
  if (Number.isInteger(value) && value >= min) return value;
  usageError(`--${option} must be a whole number of at least ${min}, not '${args[option]}'`);
}
function usageError(message) {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}
const seconds = count('seconds');
const warmUpSeconds = count('warm-up', 0);
const repeat = count('repeat');
const scenarios = new Set(args.scenarios.split(','));
const unknownScenarios = [...scenarios].filter((name) => !SCENARIOS.includes(name));
if (unknownScenarios.length > 0)
  usageError(`unknown scenario: ${unknownScenarios.join(', ')} (known: ${SCENARIOS.join(', ')})`);
const bookingReplicas = count('booking-replicas');
const gatewayReplicas = count('gateway-replicas');
if (args.url && !args['database-url']) usageError('--url needs --database-url, the database the checks read');
const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const progress = (message) => process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 19)} ${message}\n`);

let system;
// Stopped from outside (kill, a CI timeout), stop what this run started: services left running would take
// a share of the next run's requests from the same database.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    progress(`${signal}: stopping the system under test`);
    void Promise.resolve(system?.stop()).finally(() => process.exit(128 + constants.signals[signal]));
  });
}
let targets = args.url;
let databaseUrl = args['database-url'];
if (!targets) {
  databaseUrl = await recreateDatabase(adminUrl, 'booking_bench');
  system = new SystemUnderTest(root);
  await startSystem(system, databaseUrl, bookingReplicas, gatewayReplicas);
  targets = system.targets;
}

const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const results = [];
const median = (runs, pick) => runs.map(pick).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
/** The median of numbers that need not be one run's (ratios): an even count takes the mean of the middle two. */
function medianValue(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
}

async function scenario(name, connections, setup, load) {
  const [row] = await interleaved({ name, connections, setup, load });
  return row;
}

/**
 * Runs each scenario `repeat` times in rounds (a, b, a, b, …) rather than one
 * after the other, so that two scenarios compared by a ratio meet the same
 * moments of a shared, noisy machine: run i of one is paired with run i of the
 * other, and `report` takes the median of the pairs' ratios.
 */
async function interleaved(...definitions) {
  const runs = definitions.map(() => []);
  for (let i = 0; i < repeat; i++) {
    for (const [d, { name, connections, setup, load }] of definitions.entries()) {
      const context = await setup();
      progress(`${name} @ ${connections} connections, ${seconds}s${repeat > 1 ? ` (run ${i + 1}/${repeat})` : ''}…`);
      const result = await load(context);
      result.check = await checkInvariants(pool);
      if (!result.check.ok) progress(`INVARIANT VIOLATED after ${name}: ${JSON.stringify(result.check)}`);
      runs[d].push(result);
    }
  }
  return definitions.map(({ name }, d) => {
    // Report the run with the median throughput, so its latencies belong to one real run.
    const medianRps = median(runs[d], throughput);
    const chosen = runs[d].find((r) => throughput(r) === medianRps);
    const row = { scenario: name, ...chosen, runs: runs[d].map(throughput) };
    results.push(row);
    progress(`  → ${name}: ${throughput(row)}/s (runs: ${row.runs.join(', ')})`);
    return row;
  });
}

const throughput = (run) => run.requestsPerSecond ?? run.transactionsPerSecond;

async function createEvent(totalSeats, name) {
  const { rows } = await pool.query('INSERT INTO events (name, total_seats) VALUES ($1, $2) RETURNING id', [
    name,
    totalSeats,
  ]);
  return rows[0].id;
}

try {
  const reserve = (eventIds) => (n) => ({ event_id: eventIds[n % eventIds.length], user_id: `bench-user-${n}` });

  if (warmUpSeconds > 0) {
    progress(`warm-up, ${warmUpSeconds}s (not reported)…`);
    const eventId = await createEvent(1000, 'warm-up');
    const half = Math.max(1, Math.round(warmUpSeconds / 2));
    const post = { targets, path: '/api/bookings/reserve', method: 'POST', connections: 200, seconds: half };
    await runLoad({ ...post, body: reserve([eventId]) });
    await runLoad({ targets, path: `/api/events/${eventId}`, connections: 200, seconds: half });
  }

  if (scenarios.has('baseline')) {
    for (const connections of [50, 100, 200]) {
      await scenario(
        'seed baseline',
        connections,
        async () => {
          const ids = [];
          for (let i = 0; i < 100; i++) ids.push(await createEvent(1_000_000, `baseline ${i}`));
          return ids;
        },
        (ids) =>
          runLoad({ targets, path: '/api/bookings/reserve', method: 'POST', connections, seconds, body: reserve(ids) }),
      );
    }
  }
  let flashEventId;
  if (scenarios.has('flash')) {
    await scenario(
      'flash sale',
      200,
      async () => (flashEventId = await createEvent(1000, 'flash sale')),
      (id) =>
        runLoad({
          targets,
          path: '/api/bookings/reserve',
          method: 'POST',
          connections: 200,
          seconds,
          body: reserve([id]),
        }),
    );
  }
  const read = {
    name: 'read path',
    connections: 200,
    setup: async () => flashEventId ?? (await createEvent(1000, 'read')),
    load: (id) => runLoad({ targets, path: `/api/events/${id}`, connections: 200, seconds }),
  };
  const bare = {
    name: 'bare Node HTTP server',
    connections: 200,
    setup: async () => null,
    load: () => bareNodeServer({ connections: 200, seconds }),
  };
  // The read path is judged against the bare server: their runs alternate.
  const compared = [scenarios.has('read') && read, scenarios.has('bare') && bare].filter(Boolean);
  if (compared.length > 0) await interleaved(...compared);
  if (scenarios.has('pgbench')) {
    await scenario(
      'pgbench reserve (PostgreSQL alone)',
      32,
      // Seats never run out here: every transaction is a full booking on the one hot event row.
      () => createEvent(100_000_000, 'pgbench hot row'),
      (eventId) => pgbenchReserve({ databaseUrl, eventId, clients: 32, seconds }),
    );
  }
} finally {
  const memory = system?.peakMemory() ?? [];
  await system?.stop();
  await pool.end();
  report(memory);
}

function report(memory) {
  const by = (name) => results.find((r) => r.scenario === name);
  const ratios = {};
  const flash = by('flash sale');
  const pgbench = by('pgbench reserve (PostgreSQL alone)');
  const read = by('read path');
  const bare = by('bare Node HTTP server');
  if (flash && pgbench) ratios.flashVsPgbench = +(flash.requestsPerSecond / pgbench.transactionsPerSecond).toFixed(2);
  if (read && bare) {
    // Run i of each was measured back to back: the median of their ratios.
    const pairs = read.runs.map((rps, i) => +(rps / bare.runs[i]).toFixed(2));
    ratios.readVsBareNode = +medianValue(pairs).toFixed(2);
    ratios.readVsBareNodeByRun = pairs;
  }

  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  const setup = {
    seconds,
    warmUpSeconds,
    repeat,
    bookingReplicas,
    gatewayReplicas,
    targets,
  };
  console.log(
    `\nMachine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGb} GiB, Node ${machine.node}; everything on this machine.`,
  );
  console.log(`Setup: ${JSON.stringify(setup)}\n`);
  console.log(printTable(results));
  if (flash) console.log(`\n${flashSaleSummary(flash)}`);
  console.log(`\nRatios: ${JSON.stringify(ratios)}`);
  console.log(
    `Peak RSS per process (MB): ${memory.map((m) => `${m.name} ${m.peakRssMb}`).join(', ') || 'n/a (external system)'}`,
  );

  const dir = join(root, 'load-testing/results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(dir, `bench-${stamp}.json`), JSON.stringify({ machine, setup, results, ratios, memory }, null, 2));
  const curve = results.filter((r) => r.scenario === 'seed baseline');
  if (curve.length) {
    writeFileSync(
      join(dir, 'latency.svg'),
      latencyChartSvg('POST /api/bookings/reserve, seed baseline: latency by concurrency', curve),
    );
  }
  console.log(
    `\nWrote load-testing/results/bench-${stamp}.json${curve.length ? ' and load-testing/results/latency.svg' : ''}`,
  );
  if (results.some((r) => r.check && !r.check.ok)) process.exitCode = 1;
}

async function startSystem(sut, url, bookingReplicas, gatewayReplicas) {
  try {
    await startProcesses(sut, url, bookingReplicas, gatewayReplicas);
  } catch (error) {
    await sut.stop();
    throw error;
  }
}

async function startProcesses(sut, url, bookingReplicas, gatewayReplicas) {
  // A nats-server of its own: no other booking service (a `pnpm start` left running) can take a share of
  // the requests, and earlier runs' stream does not weigh on this one.
  const nats = await PrivateNatsServer.start();
  sut.onStop(() => nats.dispose());
  execFileSync(process.execPath, ['libs/database/dist/cli.js', 'migrate'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url },
    stdio: 'inherit',
  });
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: url,
    NATS_URL: nats.url,
    ...benchLimits(),
  };
  for (let i = 0; i < bookingReplicas; i++) {
    const port = await freePort();
    sut.start(`booking-service-${i + 1}`, 'apps/booking-service/dist/bundle/main.js', {
      ...env,
      BOOKING_SERVICE_PORT: String(port),
    });
    await sut.waitReady(`http://127.0.0.1:${port}/health/ready`);
  }
  const gatewayTargets = [];
  for (let i = 0; i < gatewayReplicas; i++) {
    const port = await freePort();
    sut.start(`api-gateway-${i + 1}`, 'apps/api-gateway/dist/bundle/main.js', {
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      // Behind nginx the client's address comes from X-Forwarded-For.
      TRUST_PROXY: '127.0.0.1',
    });
    await sut.waitReady(`http://127.0.0.1:${port}/health/ready`);
    gatewayTargets.push(`http://127.0.0.1:${port}`);
  }
  sut.targets = gatewayTargets;
  if (gatewayReplicas > 1) {
    // As deployed: the shipped nginx configuration balancing over the replicas, its limits raised by configuration.
    const { binary, reason } = ensureNginx();
    if (!binary)
      throw new Error(`--gateway-replicas ${gatewayReplicas} runs behind nginx, which is missing: ${reason}`);
    const nginx = await NginxProxy.start(binary, {
      mode: 'http',
      upstream: gatewayTargets.map((url) => new URL(url).host),
      vars: { NGINX_RATE_LIMIT: '1000000r/s', NGINX_RATE_BURST: '1000000', NGINX_CONNECTIONS_PER_CLIENT: '10000' },
    });
    sut.onStop(() => nginx.stop());
    sut.targets = [nginx.baseUrl];
  }
}

/** Limits raised by configuration, never by removing features. */
function benchLimits() {
  return {
    // The load comes from one IP and anonymous users: per-IP and per-user limits would measure the limiter.
    RATE_LIMIT_IP_MAX: '1000000000',
    RATE_LIMIT_USER_MAX: '1000000000',
    // NODE_ENV=production refuses the development secrets; throw-away ones per run, shared by the gateway replicas.
    JWT_SECRET: randomBytes(32).toString('hex'),
    BOOKING_ACCESS_SECRET: randomBytes(32).toString('hex'),
  };
}
