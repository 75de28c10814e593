#!/usr/bin/env node
// `pnpm bench:startup`: how long each service takes from spawn to its first
// `/health/ready` 200, started as deployed (`node --enable-source-maps
// dist/bundle/main.js` with the services' NODE_OPTIONS) on a database,
// nats-server and redis-server of its own. Split into module loading (spawn
// until the service starts building its application), initialisation (main
// thread busy after that) and waiting for the dependencies (main thread idle
// after that), plus the process's CPU time; see lib/startup-probe.mjs. One
// unreported round first, then rounds of every service (and entry point) in
// turn, one process at a time, so that compared entries meet the same moments
// of a busy machine; medians and ranges are reported.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort, PrivateNatsServer, PrivateRedisServer } from '@booking/testing';
import { SERVICE_NODE_OPTIONS } from '../scripts/service-node-options.mjs';
import { createRunDatabase } from './lib/system.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = {
  'api-gateway': 'PORT',
  'booking-service': 'BOOKING_SERVICE_PORT',
  'notification-service': 'NOTIFICATION_SERVICE_PORT',
};
const USAGE = `Usage: pnpm bench:startup [options]

  --runs N          measured starts per service (default 7)
  --services LIST   comma-separated: ${Object.keys(SERVICES).join(',')} (default: all)
  --entry PATH      the file started, relative to the service's folder (default dist/bundle/main.js);
                    repeat it to compare, e.g. with dist/main.js (the compiled modules, unbundled)
  -h, --help        this text`;
const READY_DEADLINE_MS = 60_000;
const POLL_INTERVAL_MS = 10;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      runs: { type: 'string', default: '7' },
      services: { type: 'string', default: Object.keys(SERVICES).join(',') },
      entry: { type: 'string', multiple: true, default: ['dist/bundle/main.js'] },
    },
  }));
} catch (error) {
  usageError(error.message);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) usageError(`--runs must be a whole number of at least 1, not '${args.runs}'`);
const services = args.services.split(',');
const unknown = services.filter((name) => !(name in SERVICES));
if (unknown.length > 0)
  usageError(`unknown service: ${unknown.join(', ')} (known: ${Object.keys(SERVICES).join(', ')})`);

function usageError(message) {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

const progress = (message) => process.stderr.write(`[startup] ${message}\n`);
const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const nats = await PrivateNatsServer.start();
const redis = await PrivateRedisServer.start();
const database = await createRunDatabase(adminUrl, 'booking_startup');
try {
  const databaseUrl = database.url;
  execFileSync(process.execPath, ['libs/database/dist/cli.js', 'migrate'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: 'ignore',
  });
  const env = { DATABASE_URL: databaseUrl, NATS_URL: nats.url, REDIS_URL: redis.url };
  const results = {};
  for (let round = 0; round <= runs; round++) {
    for (const service of services) {
      for (const entry of args.entry) {
        const result = await measureStart(service, entry, env);
        const row = args.entry.length > 1 ? `${service} ${entry}` : service;
        // Round 0 warms the file cache and creates the stream and the consumer, as a restart finds them.
        if (round > 0) (results[row] ??= []).push(result);
      }
    }
    progress(round === 0 ? 'warm-up round done' : `round ${round}/${runs} done`);
  }
  report(results);
} finally {
  await database.drop().catch((error) => progress(`could not drop ${database.name}: ${error.message}`));
  await redis.stop();
  await nats.dispose();
}

/** Starts `service` from `entry`, waits for its first ready answer, stops it; returns the phases in milliseconds. */
async function measureStart(service, entry, env) {
  const port = await freePort();
  const spawnedAt = performance.timeOrigin + performance.now();
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', '--import', './load-testing/lib/startup-probe.mjs', join('apps', service, entry)],
    {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: SERVICE_NODE_OPTIONS, ...env, [SERVICES[service]]: String(port) },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const probeLine = once(createInterface({ input: child.stdio[3] }), 'line');
  try {
    const readyAt = await waitUntilReady(`http://127.0.0.1:${port}/health/ready`, child);
    if (readyAt === undefined)
      throw new Error(`${service} did not become ready: ${stderr.trim() || 'no error output'}`);
    const marks = JSON.parse((await withDeadline(probeLine, 5_000, `${service}'s probe line`))[0]);
    const loading = marks.timeOrigin + marks.loaded - spawnedAt;
    return {
      total: readyAt - spawnedAt,
      loading,
      initialisation: marks.active,
      waiting: marks.idle,
      'CPU loading': marks.loadingCpu,
      'CPU total': marks.totalCpu,
      commonJsModules: marks.commonJsModules,
    };
  } finally {
    await stop(child);
  }
}

/** Polls until `url` answers 200; returns when it did (epoch ms), or undefined at the deadline or the process's exit. */
async function waitUntilReady(url, child) {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (Date.now() < deadline && child.exitCode === null) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return performance.timeOrigin + performance.now();
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  return undefined;
}

function withDeadline(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(force);
}

function report(results) {
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const half = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
  };
  const columns = ['total', 'loading', 'initialisation', 'waiting', 'CPU loading', 'CPU total'];
  const width = Math.max(...Object.keys(results).map((row) => row.length)) + 2;
  const cell = (values) =>
    `${Math.round(median(values))} (${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))})`.padStart(
      20,
    );
  console.log(`\nMachine: ${cpus().length} cores (${cpus()[0]?.model}), Node ${process.version}; ${runs} starts each.`);
  console.log('Milliseconds from spawn to the first /health/ready 200, median (min–max):\n');
  console.log(
    ['service'.padEnd(width), ...columns.map((c) => c.padStart(20)), 'CommonJS modules'.padStart(18)].join(''),
  );
  for (const [row, starts] of Object.entries(results)) {
    const modules = String(median(starts.map((start) => start.commonJsModules))).padStart(18);
    console.log([row.padEnd(width), ...columns.map((c) => cell(starts.map((start) => start[c]))), modules].join(''));
  }
}
