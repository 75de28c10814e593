import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema.js';

export type Database = NodePgDatabase<typeof schema>;

export interface DatabaseConnection {
  db: Database;
  pool: pg.Pool;
  close(): Promise<void>;
}

export interface ConnectOptions {
  poolSize?: number;
  applicationName?: string;
  /**
   * PostgreSQL cancels a statement that runs longer (`statement_timeout`), and the client gives up on
   * one whose answer has not arrived a second after that (a stalled network path or server): its
   * connection is then closed, never reused. Unset: no limit (migrations, one-off scripts).
   */
  statementTimeoutMs?: number;
  /** PostgreSQL ends a session left idle inside a transaction this long, releasing its locks. */
  idleInTransactionTimeoutMs?: number;
  /** How long opening a connection may take (default 5 s). */
  connectTimeoutMs?: number;
}

/** How much longer than PostgreSQL's own statement timeout the client waits for an answer. */
const CLIENT_TIMEOUT_MARGIN_MS = 1_000;
const NOT_SENT = Symbol('no statement was sent');
const READ_TIMEOUT_MESSAGE = 'Query read timeout';

/**
 * A client that closes its connection when an answer does not arrive in time. node-postgres reports
 * the timeout but keeps the connection, whose unanswered statement then blocks every later one (a
 * pool would hand it out again, e.g. after a transaction's rollback also timed out); closed, it is
 * dropped by the pool.
 */
class DeadlineClient extends pg.Client {
  // node-postgres's query() has many overloads; this only wraps the callback or the promise.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last] as (error: Error | null, result?: unknown) => void;
      args[last] = (error: Error | null, result?: unknown) => {
        this.abandonAfterTimeout(error);
        callback(error, result);
      };
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      this.abandonAfterTimeout(error);
      throw error;
    });
  }

  private abandonAfterTimeout(error: unknown): void {
    if (error instanceof Error && error.message === READ_TIMEOUT_MESSAGE) {
      (this as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    }
  }
}

/** A pool whose failures to provide a connection are marked: no statement reached PostgreSQL. */
class DeadlinePool extends pg.Pool {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override connect(callback?: any): any {
    if (callback) {
      return super.connect((error, client, done) => callback(error && markNotSent(error), client, done));
    }
    return super.connect().catch((error: unknown) => {
      throw markNotSent(error);
    });
  }
}

const markNotSent = (error: unknown): unknown =>
  error instanceof Error ? Object.assign(error, { [NOT_SENT]: true }) : error;

/**
 * True when the error happened before any statement was sent (no connection could be had), so
 * nothing can have been written, as opposed to an error after a statement was sent.
 */
export function failedBeforeSending(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if ((current as { [NOT_SENT]?: boolean })[NOT_SENT]) return true;
  }
  return false;
}

export function connectDatabase(url: string, options: ConnectOptions = {}): DatabaseConnection {
  const pool = new DeadlinePool({
    Client: DeadlineClient,
    connectionString: url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    // A peer that vanished without closing (host down, cable pulled) is found by TCP keepalive.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(options.statementTimeoutMs !== undefined && {
      statement_timeout: options.statementTimeoutMs,
      query_timeout: options.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
    }),
    ...(options.idleInTransactionTimeoutMs !== undefined && {
      idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs,
    }),
  });
  // An idle client losing its server connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor may a checked-out client that loses it between two queries (e.g. inside a transaction waiting
  // on something else): its next query fails, and releasing it with that error discards it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return { db: drizzle(pool, { schema }), pool, close: () => pool.end() };
}

/** Creates the database named in `url` when it does not exist (connecting to the `postgres` maintenance database). */
export async function ensureDatabaseExists(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) throw new Error(`DATABASE_URL ${redactUrl(url)} names no database`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((error: { code?: string }) => {
      // Another process created it between our check and our CREATE.
      if (error.code !== '42P04' && error.code !== '23505') throw error;
    });
    return true;
  } finally {
    await client.end();
  }
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}
