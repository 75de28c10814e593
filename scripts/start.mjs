#!/usr/bin/env node
// `pnpm start`: builds, migrates, seeds a demo event, starts every service with
// local defaults, waits until they are ready, prints how to use them, and stops
// them all on Ctrl-C. Plain Node (no dependencies) so it runs before anything else.
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCAL_ENV, readyUrl, SERVICES, spawnService } from './services.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const env = { ...LOCAL_ENV, ...process.env };
const services = SERVICES.map((service) => ({ ...service, ready: readyUrl(service, env) }));

const dependencies = [
  {
    name: 'PostgreSQL',
    url: env.DATABASE_URL,
    defaultPort: 5432,
    howToStart:
      'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start   (or: docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15)',
  },
  {
    name: 'NATS',
    url: env.NATS_URL,
    defaultPort: 4222,
    howToStart: 'nats-server -a 127.0.0.1 -p 4222 -js   (or: docker run -p 4222:4222 nats:2 -js)',
  },
  {
    name: 'Redis',
    url: env.REDIS_URL,
    defaultPort: 6379,
    howToStart: 'redis-server --port 6379   (or: docker run -p 6379:6379 redis:7)',
  },
];

function log(message) {
  process.stdout.write(`[start] ${message}\n`);
}

function fail(message) {
  process.stderr.write(`[start] ${message}\n`);
  process.exit(1);
}

function reachable(url, defaultPort) {
  const parsed = new URL(url);
  const port = Number(parsed.port || defaultPort);
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

function redact(url) {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

function run(command, args) {
  return execFileSync(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
}

async function waitUntilReady(url, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

for (const dependency of dependencies) {
  if (!(await reachable(dependency.url, dependency.defaultPort))) {
    fail(
      `${dependency.name} is not reachable at ${redact(dependency.url)}.\n        Start it with: ${dependency.howToStart}`,
    );
  }
}

log('building…');
try {
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json']);
  run(process.execPath, [join(root, 'scripts/bundle-services.mjs')]);
  // The web front end the gateway serves at `/`.
  run(process.execPath, [
    join(root, 'apps/web/node_modules/vite/bin/vite.js'),
    'build',
    'apps/web',
    '--logLevel',
    'warn',
  ]);
} catch {
  fail('the build failed (see above). Did you run `pnpm install`?');
}
log(run(process.execPath, ['libs/database/dist/cli.js', 'migrate']).trim());
const seedOutput = run(process.execPath, ['libs/database/dist/cli.js', 'seed']).trim();
log(seedOutput);
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

for (const service of services) {
  const child = spawnService(root, service, env, 'inherit');
  children.push(child);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`[start] ${service.name} exited (${signal ?? `code ${code}`}); stopping everything\n`);
      stopAll(1);
    }
  });
}

for (const [index, service] of services.entries()) {
  if (!(await waitUntilReady(service.ready, children[index]))) {
    process.stderr.write(`[start] ${service.name} did not become ready at ${service.ready}\n`);
    stopAll(1);
    break;
  }
}

if (!stopping) {
  const base = `http://localhost:${env.PORT}`;
  process.stdout.write(`
  Event booking system is running.
    Web app        ${base}/   (admin page: ${base}/admin)
    API            ${base}/api   (events: ${base}/api/events)
    Live seats     ${base}/api/events/live   (server-sent events)
    Health         ${base}/health/ready
    Metrics        ${base}/metrics   http://localhost:${env.BOOKING_SERVICE_PORT}/metrics   http://localhost:${env.NOTIFICATION_SERVICE_PORT}/metrics
    Booking svc    http://localhost:${env.BOOKING_SERVICE_PORT}/health/ready
    Notifications  http://localhost:${env.NOTIFICATION_SERVICE_PORT}/health/ready   (log channel; webhook if NOTIFY_WEBHOOK_URL is set)
    Logs           JSON lines below; LOG_LEVEL=debug adds one per request

  Try it:
    curl -si -X POST ${base}/api/bookings/reserve -H 'content-type: application/json' \\
         -d '{"event_id": ${eventId}, "user_id": "user123"}'
    (run it twice: 201, then 409 "User user123 already booked for event ${eventId}";
     the 201's Booking-Access-Key header is what opens that booking again)
    curl -s -X DELETE ${base}/api/bookings/<id> -H 'booking-access-key: <key>'    (cancel; frees the seat)
    curl -s ${base}/api/bookings/<id>/history -H 'booking-access-key: <key>'      (the booking's events)
    pnpm events:replay                                     (rebuild counts from the stream, compare)

    API docs       ${base}/api/docs
    Admin token    pnpm -s run token --sub admin --role admin   (for POST /api/events)

  Press Ctrl-C to stop.
`);
}
