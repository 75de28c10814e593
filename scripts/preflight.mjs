/**
 * What `pnpm start` checks before it builds anything: the services' ports are free, and PostgreSQL, NATS
 * (with JetStream) and Redis answer at the configured URLs. Each check resolves to undefined or to one
 * line that says what failed, where, why, and how to fix it. Plain Node and the `pg` client the database
 * library already installs, so it runs before the build.
 */
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

/** Every check gives up after this long: a firewall that drops packets must not hang the start. */
const CHECK_TIMEOUT_MS = 3_000;

/** The URL without its password, for messages. */
export function redact(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return String(url);
  }
}

function hostAndPort(url, defaultPort) {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost', port: Number(parsed.port || defaultPort) };
}

/** Why a socket-level error happened, in words. */
function networkCause(error) {
  if (error.code === 'ECONNREFUSED') return 'connection refused';
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `host ${error.hostname ?? ''} not found`.trim();
  if (error.code === 'TIMEOUT') return `no answer within ${CHECK_TIMEOUT_MS / 1000} s`;
  return error.message || String(error.code);
}

/** Binds `port` on `host` for a moment: EADDRINUSE there is what the service would get. */
function portIsFree(port, host) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Whether what answers on `port` is one of this system's services (its readiness route answers JSON). */
async function answersAsService(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`, {
      signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
    });
    const body = await response.json();
    return (response.status === 200 || response.status === 503) && typeof body === 'object' && body !== null;
  } catch {
    return false;
  }
}

/**
 * The services' ports. One line when the system already runs (its services answer on them), else one line
 * per port another program holds.
 */
export async function checkPorts(services, env) {
  const taken = [];
  for (const service of services) {
    const port = Number(env[service.portVariable]);
    const host = service.portVariable === 'PORT' ? env.HOST || '0.0.0.0' : '0.0.0.0';
    if (!(await portIsFree(port, host))) taken.push({ service, port });
  }
  if (taken.length === 0) return [];
  const ours = await Promise.all(taken.map(({ port }) => answersAsService(port)));
  if (ours.some(Boolean)) {
    const ports = taken.map(({ port }) => port).join(', ');
    return [
      `the event booking system is already running (its services answer on port${taken.length > 1 ? 's' : ''} ${ports}); ` +
        'use that one, or stop it (Ctrl-C in its terminal) before starting another',
    ];
  }
  return taken.map(
    ({ service, port }) =>
      `port ${port} (${service.portVariable}, ${service.name}) is in use by another program; ` +
      `stop that program or set ${service.portVariable} to a free port (in .env or the environment)`,
  );
}

/** `pg`, from the database library's own dependencies (the root package does not list it). */
function loadPg(root) {
  return createRequire(join(root, 'libs/database/package.json'))('pg');
}

async function query(pg, url, sql) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CHECK_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * DATABASE_URL: connects and runs a query. A missing database is fine when the role may create it
 * (the migration creates it), so that case is checked through the `postgres` maintenance database.
 */
export async function checkPostgres(root, url) {
  const where = `PostgreSQL at ${redact(url)}`;
  let target;
  try {
    target = new URL(url);
  } catch {
    return `DATABASE_URL is not a URL (${redact(url)}); set it like postgresql://postgres@127.0.0.1:5432/booking_db`;
  }
  const pg = loadPg(root);
  const role = decodeURIComponent(target.username) || process.env.USER || 'the current user';
  const database = decodeURIComponent(target.pathname.slice(1));
  try {
    await query(pg, url, 'SELECT 1');
    return undefined;
  } catch (error) {
    if (error.code === '3D000') {
      const maintenance = new URL(url);
      maintenance.pathname = '/postgres';
      const rows = await query(
        pg,
        maintenance.toString(),
        'SELECT rolcreatedb OR rolsuper AS can FROM pg_roles WHERE rolname = current_user',
      ).catch(() => [{ can: false }]);
      if (rows[0]?.can) return undefined;
      return `${where}: database "${database}" does not exist and role "${role}" may not create it; create it (createdb -O ${role} ${database}) or name an existing database in DATABASE_URL`;
    }
    if (error.code === '28000' || error.code === '28P01') {
      return `${where}: ${error.message}; set DATABASE_URL to a role that exists with its password (e.g. postgresql://postgres@127.0.0.1:5432/booking_db) or create it (createuser --createdb ${role})`;
    }
    if (typeof error.code === 'string' && /^[0-9A-Z]{5}$/.test(error.code)) {
      return `${where}: ${error.message} (SQLSTATE ${error.code}); check DATABASE_URL`;
    }
    const cause = /timeout/i.test(error.message ?? '') ? networkCause({ code: 'TIMEOUT' }) : networkCause(error);
    const port = target.port || 5432;
    const startHint = `pg_ctlcluster <version> main start, or docker run -p ${port}:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`;
    return `${where}: ${cause}; start it (${startHint}) or correct DATABASE_URL`;
  }
}

/**
 * Opens a TCP connection, writes `request` (if any) and resolves with the text received once `done(text)`
 * says it is complete; rejects with a code on refusal, or TIMEOUT.
 */
function converse(host, port, request, done) {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error('timeout'), { code: 'TIMEOUT' }));
    }, CHECK_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.once('connect', () => request && socket.write(request));
    socket.on('data', (chunk) => {
      text += chunk;
      if (done(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.once('error', (error) => (clearTimeout(timer), reject(error)));
    socket.once('close', () => (clearTimeout(timer), resolve(text)));
  });
}

/**
 * NATS_URL: the server's greeting (its INFO line) must say JetStream is on, since the services keep
 * booking events in a JetStream stream. The first URL of a comma-separated list is checked.
 */
export async function checkNats(url) {
  const first = String(url).split(',')[0].trim();
  const where = `NATS at ${redact(first)}`;
  let host, port;
  try {
    ({ host, port } = hostAndPort(first, 4222));
  } catch {
    return `NATS_URL is not a URL (${redact(first)}); set it like nats://127.0.0.1:4222`;
  }
  const startHint = `nats-server -a ${host} -p ${port} -js, or docker run -p ${port}:4222 nats:2 -js`;
  try {
    const greeting = await converse(host, port, undefined, (text) => text.includes('\r\n'));
    const info = /^INFO (\{.*\})/.exec(greeting);
    if (!info) return `${where}: the server there does not speak NATS; correct NATS_URL`;
    if (JSON.parse(info[1]).jetstream !== true) {
      return `${where}: JetStream is not enabled; restart that server with -js (${startHint})`;
    }
    return undefined;
  } catch (error) {
    return `${where}: ${networkCause(error)}; start it (${startHint}) or correct NATS_URL`;
  }
}

/** REDIS_URL: authenticates if the URL carries credentials, then PING must answer PONG. */
export async function checkRedis(url) {
  const where = `Redis at ${redact(url)}`;
  let host, port, parsed;
  try {
    parsed = new URL(url);
    ({ host, port } = hostAndPort(url, 6379));
  } catch {
    return `REDIS_URL is not a URL (${redact(url)}); set it like redis://127.0.0.1:6379`;
  }
  const startHint = `redis-server --port ${port}, or docker run -p ${port}:6379 redis:7`;
  const password = decodeURIComponent(parsed.password);
  const user = decodeURIComponent(parsed.username);
  const auth = password ? `AUTH ${user ? `${user} ` : ''}${password}\r\n` : '';
  const replies = password ? 2 : 1;
  try {
    const answer = await converse(
      host,
      port,
      `${auth}PING\r\n`,
      (text) => text.split('\r\n').length > replies || text.startsWith('-'),
    );
    const error = answer.split('\r\n').find((line) => line.startsWith('-'));
    if (error?.startsWith('-NOAUTH'))
      return `${where}: Redis requires a password; put it in REDIS_URL (redis://:password@${host}:${port})`;
    if (error) return `${where}: ${error.slice(1)}; correct the credentials in REDIS_URL`;
    if (!answer.includes('+PONG')) return `${where}: the server there does not speak Redis; correct REDIS_URL`;
    return undefined;
  } catch (error) {
    return `${where}: ${networkCause(error)}; start it (${startHint}) or correct REDIS_URL`;
  }
}
