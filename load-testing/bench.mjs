#!/usr/bin/env node
// `pnpm bench`: the load harness. Starts the system as `pnpm start` does (or
// targets --url), runs the scenarios (lib/scenarios.mjs), checks the database
// after each run, and reports the results, each process's cost and the targets
// (lib/report.mjs, lib/targets.mjs); JSON and an SVG chart go to results/.
import { cpus, constants, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EventBacklog } from './lib/event-backlog.mjs';
import { parseBenchOptions, USAGE, UsageError } from './lib/options.mjs';
import {
  formatHeader,
  formatProcessCost,
  formatRatios,
  formatResults,
  formatSellOut,
  formatStorm,
  formatTargets,
  writeResults,
} from './lib/report.mjs';
import { runScenarios } from './lib/scenarios.mjs';
import { BENCH_RATE_LIMIT, SystemUnderTest } from './lib/system.mjs';
import { computeRatios, evaluateTargets } from './lib/targets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

let options;
try {
  options = parseBenchOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const adminUrl = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const progress = (message) => process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 19)} ${message}\n`);

let system;
let interrupted = false;
// Stopped from outside (Ctrl-C, kill, a CI timeout): stop what this run started and drop its database.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    progress(`${signal}: stopping the system under test`);
    void Promise.resolve(system?.stop()).finally(() => process.exit(128 + constants.signals[signal]));
  });
}

try {
  const { checksPassed } = await run();
  if (!checksPassed) process.exitCode = 1;
} catch (error) {
  // Interrupted: the system stopping under the run explains the error, and the signal's handler exits.
  if (!interrupted) throw error;
}

async function run() {
  let targets = options.urls;
  let databaseUrl = options.databaseUrl;
  if (!targets) {
    system = new SystemUnderTest(root, progress);
    progress('starting the system…');
    await system.start({ adminUrl, ...options });
    targets = system.targets;
    databaseUrl = system.databaseUrl;
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  // The run's database is dropped with its connections on a signal; an idle client's error then is expected.
  pool.on('error', () => {});
  let backlog;
  let outcome = { rows: [], checksPassed: true };
  try {
    backlog = system && (await EventBacklog.connect(system.nats.url, system.names.eventsStream, pool));
    outcome = await runScenarios({ options, targets, databaseUrl, pool, system, backlog, progress });
    return outcome;
  } finally {
    const postgres = (await pool.query('SHOW server_version').catch(() => undefined))?.rows[0].server_version;
    await backlog?.close();
    await pool.end();
    await system?.stop();
    if (!interrupted) report(outcome.rows, targets, postgres);
  }
}

function report(rows, targets, postgres) {
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `Linux ${release()}`,
    node: process.version,
    postgres,
  };
  const setup = {
    seconds: options.seconds,
    warmUpSeconds: options.warmUpSeconds,
    repeat: options.repeat,
    targets,
    without: options.without,
    skipped: options.skipped,
    gatewayReplicas: options.gatewayReplicas,
    ...(system && {
      services: system.serviceReplicas(),
      nodeEnv: process.env.NODE_ENV ?? 'development',
      logLevel: process.env.LOG_LEVEL ?? 'info',
      rateLimit: BENCH_RATE_LIMIT,
      database: system.database.name,
    }),
  };
  const ratios = computeRatios(rows);
  const targetResults = evaluateTargets(rows, {
    notificationServiceLeftOut: options.without.includes('notification-service'),
  });
  const sellOut = rows.find((row) => row.scenario === 'sell-out');
  const storm = rows.find((row) => row.storm);
  const sections = [
    formatHeader({ machine, setup }),
    formatResults(rows),
    sellOut && formatSellOut(sellOut),
    storm && formatStorm(storm),
    formatProcessCost(rows),
    formatRatios(ratios),
    formatTargets(targetResults),
    writeResults(root, { machine, setup, results: rows, ratios, targets: targetResults }),
  ];
  console.log(`\n${sections.filter(Boolean).join('\n\n')}`);
}
