// Starts the system under test as `pnpm start` starts it (scripts/services.mjs:
// the same services, from their bundles, with the same environment), on a
// database, nats-server and redis-server of this run's own, and stops it again.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  ensureNginx,
  freePort,
  NginxProxy,
  PrivateNatsServer,
  PrivateRedisServer,
  waitForHttpOk,
} from '@booking/testing';
import { namesFor } from '@booking/shared';
import pg from 'pg';
import { LOCAL_ENV, readyUrl, SERVICES, spawnService } from '../../scripts/services.mjs';

const READY_TIMEOUT_MS = 30_000;
/** After SIGTERM a service finishes what it holds; past this (above its SHUTDOWN_TIMEOUT_MS) it is killed. */
const STOP_TIMEOUT_MS = 12_000;
/** The load comes from one address and anonymous users: lower per-IP and per-user limits would measure the limiter. */
export const BENCH_RATE_LIMIT = '1000000000';

/**
 * A database of this run's own, e.g. `booking_bench_20250102123456_9f3a2c`: runs side by side never touch
 * each other's. `drop()` removes it (the run's own connections included).
 */
export async function createRunDatabase(adminUrl, prefix) {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const name = `${prefix}_${stamp}_${randomBytes(3).toString('hex')}`;
  const admin = async (statement) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
  };
}

/**
 * The environment `pnpm start` gives, pointed at this run's database, nats-server and (for the gateway)
 * redis-server, in this run's namespace.
 */
export function serviceEnvironment({ databaseUrl, natsUrl, redisUrl, namespace = '' }) {
  return {
    ...LOCAL_ENV,
    ...process.env,
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    BOOKING_NAMESPACE: namespace,
    ...(redisUrl && { REDIS_URL: redisUrl }),
    RATE_LIMIT_IP_MAX: BENCH_RATE_LIMIT,
    RATE_LIMIT_USER_MAX: BENCH_RATE_LIMIT,
  };
}

/** Starts a service process and waits for its first ready answer; throws if it exits or is not ready in time. */
export async function startService(root, service, env, name = service.name) {
  const child = spawnService(root, service, env, ['ignore', 'ignore', 'inherit']);
  try {
    await waitForHttpOk(readyUrl(service, env), READY_TIMEOUT_MS, () => child.exitCode === null);
  } catch (error) {
    await stopProcess(child);
    throw new Error(`${name} did not start: ${error.message}`, { cause: error });
  }
  return child;
}

/** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; resolves once the process has exited. */
export async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(kill);
}

export class SystemUnderTest {
  constructor(root, progress) {
    this.root = root;
    this.progress = progress;
    /** `{ name, service, env, child }` per service process. */
    this.instances = [];
    this.cleanups = [];
    this.targets = [];
  }

  /** Database, nats-server, redis-server, migrations, then the services in `pnpm start`'s order. */
  async start({ adminUrl, bookingReplicas, gatewayReplicas, without }) {
    try {
      this.database = await createRunDatabase(adminUrl, 'booking_bench');
      this.onStop(() => this.database.drop());
      // Named after the run's database (bench_<time>_<random>): its stream, subjects and keys are its own too.
      this.names = namesFor(this.database.name.replace(/^booking_/, ''));
      this.nats = await PrivateNatsServer.start();
      this.onStop(() => this.nats.dispose());
      this.redis = await PrivateRedisServer.start();
      this.onStop(() => this.redis.stop());
      execFileSync(process.execPath, ['libs/database/dist/cli.js', 'migrate'], {
        cwd: this.root,
        env: { ...process.env, DATABASE_URL: this.database.url },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const env = serviceEnvironment({
        databaseUrl: this.database.url,
        natsUrl: this.nats.url,
        redisUrl: this.redis.url,
        namespace: this.names.namespace,
      });
      const replicas = {
        'booking-service': bookingReplicas,
        'notification-service': without.includes('notification-service') ? 0 : 1,
        'api-gateway': gatewayReplicas,
      };
      for (const service of SERVICES) {
        for (let i = 0; i < replicas[service.name]; i++) {
          const name = replicas[service.name] > 1 ? `${service.name}-${i + 1}` : service.name;
          const own = { [service.portVariable]: String(await freePort()) };
          if (service.name === 'api-gateway') {
            // Reachable from this machine only; behind nginx the client's address comes from X-Forwarded-For.
            own.HOST = '127.0.0.1';
            if (gatewayReplicas > 1) own.TRUST_PROXY = '127.0.0.1';
          }
          const instance = { name, service, env: { ...env, ...own } };
          this.instances.push(instance);
          await this.startInstance(instance);
          if (service.name === 'api-gateway') this.targets.push(`http://127.0.0.1:${own.PORT}`);
        }
      }
      if (gatewayReplicas > 1) await this.startNginx();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  get databaseUrl() {
    return this.database.url;
  }

  /** `[{ name, replicas }]` of the services started, in start order. */
  serviceReplicas() {
    return SERVICES.map(({ name }) => ({
      name,
      replicas: this.instances.filter((instance) => instance.service.name === name).length,
    })).filter(({ replicas }) => replicas > 0);
  }

  /** Runs `cleanup` on stop, after the processes, in reverse order of registration. */
  onStop(cleanup) {
    this.cleanups.push(cleanup);
  }

  /** True while a process of `name` (a service or one replica) runs. */
  runs(name) {
    return this.instances.some((instance) => instance.name.startsWith(name) && instance.child);
  }

  /** Stops every process of `name` (a service or one replica), gracefully. */
  async stopService(name) {
    await Promise.all(
      this.instances
        .filter((instance) => instance.name.startsWith(name) && instance.child)
        .map(async (instance) => {
          const child = instance.child;
          instance.child = undefined;
          await stopProcess(child);
        }),
    );
  }

  /** Starts every stopped process of `name` again, as before, and waits until each is ready. */
  async startService(name) {
    for (const instance of this.instances) {
      if (instance.name.startsWith(name) && !instance.child) await this.startInstance(instance);
    }
  }

  /** For per-process cost: each service process, nats-server, redis-server, and this run's PostgreSQL backends. */
  processGroups(pool) {
    return [
      ...this.instances.map((instance) => ({
        name: instance.name,
        partOfSystem: true,
        per: instance.service.name === 'notification-service' ? 'event' : 'request',
        pids: async () => (instance.child ? [instance.child.pid] : []),
      })),
      { name: 'nats-server', partOfSystem: true, pids: async () => [this.nats.pid].filter(Boolean) },
      { name: 'redis-server', partOfSystem: true, pids: async () => [this.redis.pid].filter(Boolean) },
      {
        name: 'postgres',
        partOfSystem: true,
        newProcessesCount: true,
        pids: async () =>
          (
            await pool.query(
              'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
            )
          ).rows.map((row) => row.pid),
      },
    ];
  }

  stop() {
    this.stopped ??= (async () => {
      await Promise.all(this.instances.map((instance) => instance.child && stopProcess(instance.child)));
      for (const cleanup of this.cleanups.reverse()) {
        await Promise.resolve()
          .then(cleanup)
          .catch((error) => this.progress(`clean-up failed: ${error.message}`));
      }
    })();
    return this.stopped;
  }

  async startInstance(instance) {
    if (this.stopped) throw new Error('the system is stopping');
    const child = await startService(this.root, instance.service, instance.env, instance.name);
    instance.child = child;
    child.once('exit', (code, signal) => {
      // A crash mid-run would show only as failed requests: say which process went.
      if (instance.child === child && !this.stopped) this.progress(`${instance.name} exited (${signal ?? code})`);
    });
  }

  /** Restarts every process of `name` with `env` over the environment it was first started with ({}: as then). */
  async restartService(name, env) {
    await this.stopService(name);
    for (const instance of this.instances) {
      if (!instance.name.startsWith(name)) continue;
      instance.baseEnv ??= instance.env;
      instance.env = { ...instance.baseEnv, ...env };
    }
    await this.startService(name);
  }

  /** As deployed: the shipped nginx configuration balancing over the gateways, its limits raised by configuration. */
  async startNginx() {
    const nginx = await this.startEdge();
    this.onStop(() => nginx.stop());
    this.targets = [nginx.baseUrl];
  }

  /** The shipped nginx in front of the gateways started so far (its micro-cache included); the caller stops it. */
  async startEdge() {
    const { binary, reason } = ensureNginx();
    if (!binary) throw new Error(`nginx is missing: ${reason}`);
    return NginxProxy.start(binary, {
      mode: 'http',
      upstream: this.instances
        .filter((instance) => instance.service.name === 'api-gateway')
        .map((instance) => `127.0.0.1:${instance.env.PORT}`),
      vars: { NGINX_RATE_LIMIT: '1000000r/s', NGINX_RATE_BURST: '1000000', NGINX_CONNECTIONS_PER_CLIENT: '10000' },
    });
  }
}
