import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';
import { testTempDir } from './test-run.js';
import { waitUntil } from './wait.js';

const DEBIAN_POSTGRESQL = '/usr/lib/postgresql';

/** POSTGRES_BIN_DIR, or the binaries of the newest PostgreSQL installed from Debian's packages. */
function binary(name: string): string {
  if (process.env.POSTGRES_BIN_DIR) return join(process.env.POSTGRES_BIN_DIR, name);
  const versions = existsSync(DEBIAN_POSTGRESQL)
    ? readdirSync(DEBIAN_POSTGRESQL)
        .filter((dir) => /^\d+$/.test(dir))
        .map(Number)
    : [];
  if (versions.length === 0) {
    throw new Error(`no PostgreSQL under ${DEBIAN_POSTGRESQL} (Debian package postgresql, or set POSTGRES_BIN_DIR)`);
  }
  return join(DEBIAN_POSTGRESQL, String(Math.max(...versions)), 'bin', name);
}

interface ServerUser {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root; then it runs as the `postgres` user (Debian's package creates it). */
function serverUser(): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Runs one of PostgreSQL's programs to its end; rejects with what it wrote. */
function run(program: string, args: string[], user: ServerUser | undefined, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(binary(program), args, { ...user, cwd, timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${program} failed: ${error.message}\n${stdout}${stderr}`)) : resolve(),
    );
  });
}

/**
 * One PostgreSQL server on its own data directory and port (TCP on 127.0.0.1 only, trust
 * authentication, superuser `postgres`), its log in `<data directory>.log`.
 */
export class PostgresInstance {
  private process?: ChildProcess;

  constructor(
    /** Also its `cluster_name`, the name a standby's WAL receiver gives the primary. */
    readonly name: string,
    readonly dataDir: string,
    readonly port: number,
    private readonly user: ServerUser | undefined,
    private readonly settings: Record<string, string> = {},
  ) {}

  /** A URL of database `postgres` on this server. */
  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get log(): string {
    return readFileSync(`${this.dataDir}.log`, 'utf8');
  }

  /** Starts the server and resolves once it runs queries (a standby: read-only ones). */
  async start(): Promise<void> {
    const settings = { cluster_name: this.name, ...this.settings };
    const args = ['-D', this.dataDir, '-p', String(this.port)];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    const log = openSync(`${this.dataDir}.log`, 'a');
    // Its own process group, so that a kill takes the server's every process at once, as a crash of its
    // machine would. Should a test run die without stopping it, the postmaster shuts itself down within
    // a minute of its data directory being removed (test/leftovers.mjs removes it).
    const child = spawn(binary('postgres'), args, { ...this.user, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    this.process = child;
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`postgres (${this.name}) exited:\n${this.log.slice(-2_000)}`);
        return this.query('SELECT 1').then(
          () => true,
          () => false,
        );
      },
      30_000,
      `PostgreSQL ${this.name} on port ${this.port} answers`,
    );
  }

  /** SIGKILL to every process of the server: nothing is flushed or said goodbye. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
  }

  /** One statement on a connection of its own. */
  async query<T extends pg.QueryResultRow = Record<string, unknown>>(text: string): Promise<pg.QueryResult<T>> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000, query_timeout: 60_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.query<T>(text);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * A private PostgreSQL primary and a standby made from it with `pg_basebackup -R`, streaming, each
 * on a free port, in a temporary directory: commits wait until the standby has the commit on its
 * disk (`synchronous_commit = on`), so an acknowledged commit survives the primary. The standby runs
 * without a synchronous standby of its own, so that once promoted it commits alone.
 */
export class PostgresWithStandby {
  private constructor(
    readonly dir: string,
    readonly primary: PostgresInstance,
    readonly standby: PostgresInstance,
  ) {}

  static async start(): Promise<PostgresWithStandby> {
    const dir = testTempDir('postgres');
    const user = serverUser();
    if (user) chownSync(dir, user.uid, user.gid);
    const primary = new PostgresInstance('primary', join(dir, 'primary'), await freePort(), user);
    const standby = new PostgresInstance('standby', join(dir, 'standby'), await freePort(), user, {
      synchronous_standby_names: '',
    });
    const pair = new PostgresWithStandby(dir, primary, standby);
    try {
      await run(
        'initdb',
        ['-D', primary.dataDir, '-U', 'postgres', '--auth=trust', '--locale=C', '-E', 'UTF8', '--no-sync'],
        user,
        dir,
      );
      // In postgresql.conf, which pg_basebackup copies: the standby has the same settings.
      appendFileSync(
        join(primary.dataDir, 'postgresql.conf'),
        [
          "listen_addresses = '127.0.0.1'",
          "unix_socket_directories = ''",
          `synchronous_standby_names = '${standby.name}'`,
          'synchronous_commit = on',
          '',
        ].join('\n'),
      );
      await primary.start();
      const source = ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres'];
      await run('pg_basebackup', [...source, '-D', standby.dataDir, '-R', '-X', 'stream', '-c', 'fast'], user, dir);
      await standby.start();
      await waitUntil(
        async () =>
          (
            await primary.query<{ sync_state: string }>(
              `SELECT sync_state FROM pg_stat_replication WHERE application_name = '${standby.name}'`,
            )
          ).rows[0]?.sync_state === 'sync',
        30_000,
        'the standby streams synchronously',
      );
      return pair;
    } catch (error) {
      await pair.dispose();
      throw error;
    }
  }

  /** Makes the standby a primary and resolves once it accepts writes. */
  async promoteStandby(): Promise<void> {
    const { rows } = await this.standby.query<{ promoted: boolean }>('SELECT pg_promote(true, 60) AS promoted');
    if (!rows[0]?.promoted) throw new Error(`the standby was not promoted:\n${this.standby.log.slice(-2_000)}`);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.primary.kill(), this.standby.kill()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
