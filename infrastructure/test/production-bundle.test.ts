import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, PrivateNatsServer, TestDatabase, testTempDir } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFRASTRUCTURE, ROOT } from './support/repository.js';

/**
 * What each image holds is `pnpm deploy --prod` of one package (see the Dockerfile's
 * *-bundle stages). These tests make the same bundles from the built workspace and
 * run them the way the image does: production dependencies only, NODE_ENV=production,
 * the Dockerfile's own CMD (the service's single-file build, dist/bundle/main.js) and
 * HEALTHCHECK commands, and SIGTERM to stop.
 */
const run = promisify(execFile);
const dockerfile = readFileSync(join(INFRASTRUCTURE, 'docker', 'Dockerfile'), 'utf8');

const runtimeStage = (target: string) =>
  dockerfile.split(/^FROM /m).find((text) => text.startsWith(`runtime AS ${target}\n`)) ?? '';

/** The exec-form command of the HEALTHCHECK in a target stage. */
function healthcheckCommand(target: string): string[] {
  const json = /HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])/.exec(runtimeStage(target))?.[1];
  if (!json) throw new Error(`no HEALTHCHECK CMD in target ${target}`);
  return JSON.parse(json);
}

/** The exec-form command a target's container starts with (the HEALTHCHECK's own CMD is indented). */
function imageCommand(target: string): string[] {
  const json = /^CMD (\[.*\])$/m.exec(runtimeStage(target))?.[1];
  if (!json) throw new Error(`no CMD in target ${target}`);
  return JSON.parse(json);
}

async function bundle(pkg: string, out: string): Promise<string> {
  // Not --offline: the legacy deploy resolves the workspace packages' ranges again, which needs registry
  // metadata that a fresh machine's `pnpm install --frozen-lockfile` never cached. Packages still come from the store.
  await run('pnpm', ['--filter', `@booking/${pkg}`, 'deploy', '--legacy', '--prod', '--prefer-offline', out], {
    cwd: ROOT,
    env: { ...process.env, CI: 'true' },
  });
  return out;
}

function runHealthcheck(target: string, env: Record<string, string>): number | null {
  const [command, ...args] = healthcheckCommand(target);
  expect(command).toBe('node');
  return spawnSync(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 }).status;
}

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Stops a service with SIGTERM, as `docker stop` does, and resolves with how it
 * ended. Nest's shutdown hooks close the app, then re-raise the signal, so a
 * clean stop ends by SIGTERM (exit code 143 in a container).
 */
async function stop(child: ChildProcess): Promise<{ code: number | null; signal: string | null; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - started }));
    child.kill('SIGTERM');
  });
}

/** Within the compose file's stop_grace_period (15 s), before docker would SIGKILL it. */
const STOP_GRACE_MS = 15_000;

/** `pnpm deploy` of four packages side by side resolves registry metadata: slow on a fresh, busy machine. */
const BUNDLE_TEST_TIMEOUT_MS = 180_000;

describe('production bundles (the images’ contents)', () => {
  let dir: string;
  let db: TestDatabase;
  let nats: PrivateNatsServer;
  const children: ChildProcess[] = [];
  const bundles: Record<string, Promise<string>> = {};

  beforeAll(async () => {
    dir = testTempDir('bundle');
    // The bundles are made side by side; each test awaits its own.
    for (const pkg of ['database', 'booking-service', 'notification-service', 'api-gateway']) {
      bundles[pkg] = bundle(pkg, join(dir, pkg));
      bundles[pkg].catch(() => undefined);
    }
    [db, nats] = await Promise.all([TestDatabase.create(), PrivateNatsServer.start()]);
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all([db?.drop(), nats?.dispose()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a service in its deployed package with its image's command. */
  function start(target: string, cwd: string, env: Record<string, string>): ChildProcess {
    const [command, ...args] = imageCommand(target);
    expect(command).toBe('node');
    const child = spawn(process.execPath, args, {
      cwd,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    return child;
  }

  it(
    'the migrate bundle holds its SQL and migrates a database with production dependencies only',
    async () => {
      const out = await bundles['database']!;
      expect(existsSync(join(out, 'drizzle', 'meta', '_journal.json'))).toBe(true);
      expect(existsSync(join(out, 'node_modules', 'drizzle-kit'))).toBe(false);
      expect(existsSync(join(out, 'src'))).toBe(false);
      const url = new URL(db.url);
      url.pathname = `${url.pathname}_migrate_bundle`;
      try {
        const output = execFileSync(process.execPath, ['dist/cli.js', 'migrate'], {
          cwd: out,
          env: { PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: url.toString() },
          encoding: 'utf8',
        });
        expect(output).toContain('Migrations applied');
      } finally {
        execFileSync(process.execPath, [
          '-e',
          `const pg = require(${JSON.stringify(join(out, 'node_modules', 'pg'))});
         const c = new pg.Client({ connectionString: ${JSON.stringify(db.url)} });
         c.connect().then(() => c.query('DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)')).then(() => c.end());`,
        ]);
      }
    },
    BUNDLE_TEST_TIMEOUT_MS,
  );

  it(
    'booking-service: runs from its bundle, passes the image health check, stops on SIGTERM',
    async () => {
      const out = await bundles['booking-service']!;
      for (const devOnly of ['typescript', 'vitest', '@swc/core', 'drizzle-kit']) {
        expect(existsSync(join(out, 'node_modules', devOnly)), devOnly).toBe(false);
      }
      expect(existsSync(join(out, 'node_modules', '@booking', 'database', 'dist', 'index.js'))).toBe(true);
      const port = String(await freePort());
      const child = start('booking-service', out, {
        BOOKING_SERVICE_PORT: port,
        DATABASE_URL: db.url,
        NATS_URL: nats.url,
      });
      const env = { BOOKING_SERVICE_PORT: port };
      await until(() => child.exitCode !== null || runHealthcheck('booking-service', env) === 0);
      expect(child.exitCode).toBeNull();
      const stopped = await stop(child);
      expect(stopped.code === 0 || stopped.signal === 'SIGTERM', JSON.stringify(stopped)).toBe(true);
      expect(stopped.ms).toBeLessThan(STOP_GRACE_MS);
      expect(runHealthcheck('booking-service', env)).toBe(1);
    },
    BUNDLE_TEST_TIMEOUT_MS,
  );

  it(
    'notification-service: runs from its bundle, passes the image health check, stops on SIGTERM',
    async () => {
      const out = await bundles['notification-service']!;
      expect(existsSync(join(out, 'node_modules', 'typescript'))).toBe(false);
      expect(existsSync(join(out, 'src'))).toBe(false);
      const port = String(await freePort());
      const child = start('notification-service', out, {
        NOTIFICATION_SERVICE_PORT: port,
        DATABASE_URL: db.url,
        NATS_URL: nats.url,
      });
      const env = { NOTIFICATION_SERVICE_PORT: port };
      await until(() => child.exitCode !== null || runHealthcheck('notification-service', env) === 0);
      expect(child.exitCode).toBeNull();
      const stopped = await stop(child);
      expect(stopped.code === 0 || stopped.signal === 'SIGTERM', JSON.stringify(stopped)).toBe(true);
      expect(stopped.ms).toBeLessThan(STOP_GRACE_MS);
    },
    BUNDLE_TEST_TIMEOUT_MS,
  );

  it(
    'api-gateway: runs from its bundle, passes the image health check, stops on SIGTERM',
    async () => {
      const out = await bundles['api-gateway']!;
      expect(existsSync(join(out, 'node_modules', 'typescript'))).toBe(false);
      const port = String(await freePort());
      const child = start('api-gateway', out, {
        PORT: port,
        HOST: '127.0.0.1',
        NATS_URL: nats.url,
        JWT_SECRET: 'bundle-test-jwt-secret-0123456789abcdef',
        BOOKING_ACCESS_SECRET: 'bundle-test-booking-access-secret-0123456789',
        WAITING_ROOM_SECRET: 'bundle-test-waiting-room-secret-0123456789',
      });
      const env = { PORT: port };
      await until(() => child.exitCode !== null || runHealthcheck('api-gateway', env) === 0);
      expect(child.exitCode).toBeNull();
      // The API docs: @nestjs/swagger finds its UI files by package name at run time, from dist/bundle/.
      const docs = (path: string) =>
        fetch(`http://127.0.0.1:${port}/api/docs/${path}`, { signal: AbortSignal.timeout(5_000) });
      expect((await docs('swagger-ui.css')).status).toBe(200);
      const document = (await (await docs('openapi.json')).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(document.paths)).toContain('/api/bookings/reserve');
      const stopped = await stop(child);
      expect(stopped.code === 0 || stopped.signal === 'SIGTERM', JSON.stringify(stopped)).toBe(true);
      expect(stopped.ms).toBeLessThan(STOP_GRACE_MS);
    },
    BUNDLE_TEST_TIMEOUT_MS,
  );
});
