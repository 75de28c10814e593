import { spawn } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, PrivateNatsServer } from '@booking/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const START = fileURLToPath(new URL('../start.mjs', import.meta.url));
const ROOT = join(START, '..', '..');
/** The checks run before the build; a start that gets past them has no business in this test. */
const START_TIMEOUT_MS = 15_000;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `pnpm start`'s script with `env` over working local settings, until it exits (or is killed at the deadline). */
function start(env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [START], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: START_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The lines of stderr; a failed check is exactly one line, never a stack trace. */
const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');

describe('pnpm start checks ports and dependencies before it builds', () => {
  let env: Record<string, string>;

  beforeAll(async () => {
    env = {
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres',
      NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      PORT: String(await freePort()),
      BOOKING_SERVICE_PORT: String(await freePort()),
      NOTIFICATION_SERVICE_PORT: String(await freePort()),
    };
  });

  it('names the role DATABASE_URL gives that PostgreSQL does not know, without its password, in one line', async () => {
    const outcome = await start({
      ...env,
      DATABASE_URL: 'postgresql://no_such_role:s3cret@127.0.0.1:5432/booking_db',
    });
    expect(outcome.code).toBe(1);
    expect(lines(outcome.stderr)).toEqual([
      expect.stringMatching(
        /^\[start\] PostgreSQL at postgresql:\/\/no_such_role:\*\*\*@127\.0\.0\.1:5432\/booking_db: role "no_such_role" does not exist; set DATABASE_URL/,
      ),
    ]);
    expect(outcome.stderr).not.toContain('s3cret');
    expect(outcome.stdout).not.toContain('building');
  });

  it('says PostgreSQL refuses connections on the configured port, with how to start it', async () => {
    const port = await freePort();
    const outcome = await start({ ...env, DATABASE_URL: `postgresql://postgres@localhost:${port}/booking_db` });
    expect(outcome.code).toBe(1);
    expect(lines(outcome.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `PostgreSQL at postgresql://postgres@localhost:${port}/booking_db: connection refused; start it \\(.*-p ${port}:5432`,
        ),
      ),
    ]);
  });

  describe('with a NATS server without JetStream', () => {
    let nats: PrivateNatsServer;
    beforeAll(async () => {
      nats = await PrivateNatsServer.start({ jetstream: false });
    });
    afterAll(async () => {
      await nats?.dispose();
    });

    it('says JetStream is off there and how to turn it on, naming the configured port', async () => {
      const outcome = await start({ ...env, NATS_URL: nats.url });
      expect(outcome.code).toBe(1);
      expect(lines(outcome.stderr)).toEqual([
        `[start] NATS at ${nats.url}: JetStream is not enabled; restart that server with -js ` +
          `(nats-server -a 127.0.0.1 -p ${nats.port} -js, or docker run -p ${nats.port}:4222 nats:2 -js)`,
      ]);
    });
  });

  it('says Redis refuses connections on the configured port', async () => {
    const port = await freePort();
    const outcome = await start({ ...env, REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(outcome.code).toBe(1);
    expect(lines(outcome.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^\\[start\\] Redis at redis://127\\.0\\.0\\.1:${port}: connection refused; start it \\(redis-server --port ${port}`,
        ),
      ),
    ]);
  });

  describe('with a service port taken', () => {
    let server: Server | undefined;
    afterEach(async () => {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      server = undefined;
    });

    const listen = (port: string, answer: (response: ServerResponse) => void) =>
      new Promise<void>((resolve) => {
        server = createServer((_request, response) => answer(response));
        server.listen(Number(port), '127.0.0.1', resolve);
      });

    it('by another program: names the port, its variable and the service', async () => {
      await listen(env.BOOKING_SERVICE_PORT!, (response) => response.writeHead(404).end('not here'));
      const outcome = await start(env);
      expect(outcome.code).toBe(1);
      expect(lines(outcome.stderr)).toEqual([
        `[start] port ${env.BOOKING_SERVICE_PORT} (BOOKING_SERVICE_PORT, booking-service) is in use by another program; ` +
          'stop that program or set BOOKING_SERVICE_PORT to a free port (in .env or the environment)',
      ]);
    });

    it('by a running copy of the system: says so in one line and does not build', async () => {
      await listen(env.PORT!, (response) =>
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'),
      );
      const outcome = await start(env);
      expect(outcome.code).toBe(1);
      expect(lines(outcome.stderr)).toEqual([
        expect.stringMatching(
          /^\[start\] the event booking system is already running \(its services answer on port \d+\)/,
        ),
      ]);
      expect(outcome.stdout).not.toContain('building');
    });
  });
});
