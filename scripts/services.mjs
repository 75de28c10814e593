/**
 * The services `pnpm start` runs and how it runs them: shared by `scripts/start.mjs` and the load harness
 * (`load-testing/`), so that `pnpm bench` measures the system users start. Plain Node, no dependencies.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_NODE_OPTIONS } from './service-node-options.mjs';

/** In start order; `portVariable` names the variable of the port that answers `/health/ready`. */
export const SERVICES = [
  { name: 'booking-service', main: 'apps/booking-service/dist/bundle/main.js', portVariable: 'BOOKING_SERVICE_PORT' },
  {
    name: 'notification-service',
    main: 'apps/notification-service/dist/bundle/main.js',
    portVariable: 'NOTIFICATION_SERVICE_PORT',
  },
  { name: 'api-gateway', main: 'apps/api-gateway/dist/bundle/main.js', portVariable: 'PORT' },
];

/**
 * What a local run sets; everything else (NODE_ENV, LOG_LEVEL, pools, timeouts) keeps the services' own
 * defaults. The caller's environment overrides it.
 */
export const LOCAL_ENV = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/booking_db',
  NATS_URL: 'nats://localhost:4222',
  REDIS_URL: 'redis://127.0.0.1:6379',
  PORT: '3000',
  BOOKING_SERVICE_PORT: '3001',
  NOTIFICATION_SERVICE_PORT: '3002',
  // A local run is usually driven from this one machine (curl loops, k6, test suites): the
  // per-IP limit is raised so that a flash-sale test from one address is not throttled.
  // Deployments keep the service's default (300 per minute) or set their own.
  RATE_LIMIT_IP_MAX: '100000',
};

/** The service's `/health/ready` URL under `env`. */
export const readyUrl = (service, env) => `http://127.0.0.1:${env[service.portVariable]}/health/ready`;

/**
 * Adds the variables of `<root>/.env`, if there is one, to `process.env`; variables already set in the
 * environment keep their value. Node reads the file itself (`process.loadEnvFile`, Node 20.12), so no
 * dotenv package is needed before the dependencies are even installed.
 */
export function loadDotEnv(root) {
  const file = join(root, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

/**
 * Starts `service` from its bundle as deployed: source maps on, the services' NODE_OPTIONS unless `env` sets
 * them. With `watch`, Node restarts it whenever its bundle is rebuilt (`pnpm dev`).
 */
export function spawnService(root, service, env, stdio, { watch = false } = {}) {
  const flags = watch ? ['--watch', '--enable-source-maps'] : ['--enable-source-maps'];
  return spawn(process.execPath, [...flags, join(root, service.main)], {
    cwd: root,
    env: { NODE_OPTIONS: SERVICE_NODE_OPTIONS, ...env },
    stdio,
  });
}

/** Whether process `pid` still runs (one of another user counts: it cannot be signalled, but it lives). */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}
