#!/usr/bin/env node
// `pnpm start`: checks the ports and the dependencies, builds, migrates, seeds a demo event, starts every
// service with local defaults (overridden by .env, overridden by the environment), waits until they are
// ready, prints how to use them, and stops them all on Ctrl-C. `pnpm dev` (--watch) also rebuilds on every
// change and restarts the services whose bundle changed. Plain Node plus what `pnpm install` put in place.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkNats, checkPorts, checkPostgres, checkRedis } from './preflight.mjs';
import { isAlive, LOCAL_ENV, loadDotEnv, readyUrl, SERVICES, spawnService } from './services.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
/** How long the services together may take to become ready. */
const READY_TIMEOUT_MS = 60_000;

loadDotEnv(root);
const env = { ...LOCAL_ENV, ...process.env };
const services = SERVICES.map((service) => ({ ...service, ready: readyUrl(service, env) }));
/** Readable log lines in a terminal; JSON lines (as in production) when the output goes to a file or a pipe. */
const prettyLogs = (env.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty';

function log(message) {
  process.stdout.write(`[start] ${message}\n`);
}

function fail(messages) {
  for (const message of [messages].flat()) process.stderr.write(`[start] ${message}\n`);
  process.exit(1);
}

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Runs a Node script to completion; its errors go to the terminal, its output is returned. */
function runNode(args, { output = 'pipe' } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', output, 'inherit'] });
    let text = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk) => (text += chunk));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve(text.trim()) : reject(new Error(text.trim() || `exited with ${signal ?? code}`)),
    );
  });
}

async function step(name, args) {
  const started = Date.now();
  try {
    await runNode(args, { output: 'inherit' });
  } catch {
    fail(`${name} failed (see above). Did you run \`pnpm install\`?`);
  }
  log(`${name} done (${seconds(started)})`);
}

/**
 * One start per checkout at a time: a second one, started while the first still builds (its ports are
 * still free), would build under it and then lose the ports to it.
 */
function holdStartLock() {
  const file = join(root, 'node_modules/.cache/booking-start.pid');
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = Number(readFileSync(file, 'utf8'));
    if (holder && holder !== process.pid && isAlive(holder)) {
      fail(
        `this checkout is already being started (process ${holder}); use that one, or stop it before starting another`,
      );
    }
    writeFileSync(file, String(process.pid));
  }
  process.once('exit', () => {
    if (readFileSync(file, 'utf8') === String(process.pid)) rmSync(file, { force: true });
  });
}

const tsc = join(root, 'node_modules/typescript/bin/tsc');
const vite = join(root, 'apps/web/node_modules/vite/bin/vite.js');
const bundle = join(root, 'scripts/bundle-services.mjs');

// Before building anything: a build under a running copy would replace the files it serves.
const preflightStarted = Date.now();
const problems = (
  await Promise.all([
    checkPorts(services, env),
    checkPostgres(root, env.DATABASE_URL),
    checkNats(env.NATS_URL),
    checkRedis(env.REDIS_URL),
  ])
)
  .flat()
  .filter(Boolean);
if (problems.length > 0) fail(problems);
log(`ports free; PostgreSQL, NATS JetStream and Redis answer (${seconds(preflightStarted)})`);
holdStartLock();

const buildStarted = Date.now();
// A sign of life during a long build step.
const building = setInterval(() => log(`still building (${seconds(buildStarted)})…`), 15_000);
log('building: TypeScript…');
await step('TypeScript', [tsc, '-b', 'tsconfig.build.json']);
log('building: service bundles and the web app…');
await Promise.all([
  step('service bundles', [bundle]),
  // The web front end the gateway serves at `/`.
  step('web app', [vite, 'build', 'apps/web', '--logLevel', 'error']),
]);
clearInterval(building);
log(`built in ${seconds(buildStarted)}`);

let seedOutput = '';
try {
  log(await runNode(['libs/database/dist/cli.js', 'migrate']));
  seedOutput = await runNode(['libs/database/dist/cli.js', 'seed']);
  log(seedOutput);
} catch (error) {
  fail(`preparing the database failed: ${error.message}`);
}
const eventId = /(\d+)/.exec(seedOutput)?.[1] ?? '1';

const children = [];
let stopping = false;

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const force = setTimeout(() => children.forEach((child) => child.kill('SIGKILL')), 10_000);
  force.unref();
  Promise.all(
    children.map((child) => (child.exitCode !== null ? null : new Promise((resolve) => child.once('exit', resolve)))),
  ).then(() => process.exit(code));
}

process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

// The build took a while: something may have taken a port meanwhile, and "ready" must come from this run's services.
const portsTaken = await checkPorts(services, env);
if (portsTaken.length > 0) fail(portsTaken);

const prettyStream = prettyLogs ? await import('./pretty-logs.mjs').then((module) => module.prettyStream) : undefined;

for (const service of services) {
  const child = spawnService(root, service, env, ['ignore', prettyLogs ? 'pipe' : 'inherit', 'inherit'], { watch });
  if (prettyLogs) child.stdout.pipe(prettyStream());
  children.push(child);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`[start] ${service.name} exited (${signal ?? `code ${code}`}); stopping everything\n`);
      stopAll(1);
    }
  });
}

if (watch) {
  // Rebuild on change: tsc writes dist/, esbuild rebundles from it, `node --watch` restarts the service.
  const watchers = [
    [tsc, '-b', 'tsconfig.build.json', '--watch', '--preserveWatchOutput'],
    [bundle, '--watch'],
    [vite, 'build', 'apps/web', '--watch', '--logLevel', 'error'],
  ];
  for (const args of watchers) {
    children.push(spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] }));
  }
}

/** Ready only when this run's own process answers: its port was free before it was spawned, and it still runs. */
async function waitUntilReady(url, child, deadline) {
  while (Date.now() < deadline && child.exitCode === null) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok && child.exitCode === null && child.signalCode === null) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

const readyDeadline = Date.now() + READY_TIMEOUT_MS;
for (const [index, service] of services.entries()) {
  if (stopping) break;
  if (!(await waitUntilReady(service.ready, children[index], readyDeadline))) {
    if (!stopping) {
      process.stderr.write(`[start] ${service.name} did not become ready at ${service.ready}; stopping everything\n`);
      stopAll(1);
    }
    break;
  }
}

if (!stopping) {
  const base = `http://localhost:${env.PORT}`;
  process.stdout.write(`
  Event booking system is running${watch ? ' (rebuilds and restarts on every change)' : ''}.
    Web app        ${base}/   (admin page: ${base}/admin)
    API            ${base}/api   (events: ${base}/api/events)
    Live seats     ${base}/api/events/live   (server-sent events)
    Health         ${base}/health/ready
    Metrics        ${base}/metrics   http://localhost:${env.BOOKING_SERVICE_PORT}/metrics   http://localhost:${env.NOTIFICATION_SERVICE_PORT}/metrics
    Booking svc    http://localhost:${env.BOOKING_SERVICE_PORT}/health/ready
    Notifications  http://localhost:${env.NOTIFICATION_SERVICE_PORT}/health/ready   (log channel; webhook if NOTIFY_WEBHOOK_URL is set)
    Logs           ${prettyLogs ? 'below, one line each (JSON when not in a terminal, or with LOG_FORMAT=json)' : 'JSON lines below'}; LOG_LEVEL=debug adds one per request

  Try it:
    curl -si -X POST ${base}/api/bookings/reserve -H 'content-type: application/json' \\
         -d '{"event_id": ${eventId}, "user_id": "user123"}'
    (run it twice: 201, then 409 "User user123 already booked for event ${eventId}";
     the 201's Booking-Access-Key header is what opens that booking again)
    curl -s -X DELETE ${base}/api/bookings/<id> -H 'booking-access-key: <key>'    (cancel; frees the seat)
    curl -s ${base}/api/bookings/<id>/history -H 'booking-access-key: <key>'      (the booking's events)
    pnpm events:replay                                     (rebuild counts from the stream, compare)

    API docs       ${base}/api/docs
    Admin token    pnpm -s token --sub admin --role admin   (for POST /api/events)

  Press Ctrl-C to stop.
`);
}
