import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';
import { testTempDir } from './test-run.js';
import { waitUntil } from './wait.js';

/** The PostgreSQL server programs: POSTGRES_BIN_DIR, or the newest of Debian's /usr/lib/postgresql/<major>/bin. */
function findBinDir(): string | undefined {
  if (process.env.POSTGRES_BIN_DIR) return process.env.POSTGRES_BIN_DIR;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  return readdirSync(root)
    .filter((major) => /^\d+$/.test(major) && existsSync(join(root, major, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a))
    .map((major) => join(root, major, 'bin'))[0];
}

const BIN_DIR = findBinDir();

export interface ServerUser {
  uid: number;
  gid: number;
}

/**
 * PostgreSQL refuses to run as root: then the servers and their tools run as `postgres` (Debian's package
 * creates that user). Null when the tests run as root and there is no such user.
 */
function findServerUser(): ServerUser | undefined | null {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return null;
  }
}

let lookedUp: { user: ServerUser | undefined | null } | undefined;
/** findServerUser's answer, looked up once, when a test first needs it. */
function serverUser(): ServerUser | undefined | null {
  lookedUp ??= { user: findServerUser() };
  return lookedUp.user;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its end as the user the private servers run as (pg tools, pgbackrest, a script
 * that drives them); rejects with its exit code and what it wrote.
 */
export function runAsPostgresUser(
  file: string,
  args: readonly string[],
  { env = {}, cwd, timeoutMs = 60_000 }: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { ...serverUser(), cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        const failure = new Error(
          `${file} ${args.join(' ')} failed (${error.code ?? error.signal}):\n${stdout}${stderr}`,
        );
        reject(Object.assign(failure, { code: error.code, stdout, stderr }));
      },
    );
  });
}

export interface PrivatePostgresOptions {
  /** The data directory: an existing cluster (a restored backup) is started as it is; otherwise initdb makes one. */
  dataDir?: string;
  port?: number;
  /** Server settings (postgresql.conf names), given on the command line: they win over the files. */
  settings?: Record<string, string>;
  /** More environment for the server, which its archive_command and restore_command inherit. */
  env?: Record<string, string>;
}

/**
 * A PostgreSQL server of a test's own, on a free port (TCP on 127.0.0.1, trust authentication, superuser
 * `postgres`, its Unix socket in the folder that holds the data directory), its log in `<data directory>.log`.
 * Runs the system's server programs (Debian's postgresql package, as the shared local server), as
 * `postgres` when the tests run as root.
 */
export class PrivatePostgres {
  private process?: ChildProcess;

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly settings: Record<string, string>,
    private readonly env: Record<string, string>,
    /** The temporary folder `start` made for the data directory, which `dispose` removes. */
    private readonly ownDir?: string,
  ) {}

  /** Why private servers cannot run here (no server programs), or undefined when they can. */
  static get unavailable(): string | undefined {
    if (!BIN_DIR) return 'PostgreSQL server programs not found (Debian package postgresql, or set POSTGRES_BIN_DIR)';
    return serverUser() === null ? 'running as root, and there is no postgres user to run PostgreSQL as' : undefined;
  }

  /** The folder of initdb, pg_ctl, postgres. */
  static get binDir(): string {
    if (!BIN_DIR) throw new Error(PrivatePostgres.unavailable);
    return BIN_DIR;
  }

  /** A new temporary folder (removed with the test run's leftovers) that the servers' user owns. */
  static tempDir(kind: string): string {
    const dir = testTempDir(kind);
    const user = serverUser();
    if (user) chownSync(dir, user.uid, user.gid);
    return dir;
  }

  static async start(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
    const ownDir = options.dataDir ? undefined : PrivatePostgres.tempDir('postgres');
    const dataDir = options.dataDir ?? join(ownDir!, 'data');
    const port = options.port ?? (await freePort());
    const server = new PrivatePostgres(dataDir, port, options.settings ?? {}, options.env ?? {}, ownDir);
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      const initdb = join(PrivatePostgres.binDir, 'initdb');
      await runAsPostgresUser(initdb, [
        '-D',
        dataDir,
        '-U',
        'postgres',
        '--auth=trust',
        '--locale=C',
        '-E',
        'UTF8',
        '--no-sync',
      ]);
    }
    await server.resume();
    return server;
  }

  /** The Unix socket's folder (pgBackRest reaches the server there). */
  get socketDir(): string {
    return join(this.dataDir, '..');
  }

  /** The URL of database `postgres`: the admin URL that TestDatabase.create takes. */
  get url(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get running(): boolean {
    const child = this.process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  log(): string {
    return existsSync(`${this.dataDir}.log`) ? readFileSync(`${this.dataDir}.log`, 'utf8') : '';
  }

  /** Starts the server on its data directory; resolves once it answers queries (during recovery: read-only ones). */
  async resume(timeoutMs = 60_000): Promise<void> {
    if (this.running) return;
    const settings = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: this.socketDir,
      // Its data outlives no machine crash a test could cause: the writes need not reach the disk.
      fsync: 'off',
      ...this.settings,
    };
    const args = ['-D', this.dataDir, '-p', String(this.port)];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    const log = openSync(`${this.dataDir}.log`, 'a');
    const user = serverUser();
    if (user) chownSync(`${this.dataDir}.log`, user.uid, user.gid);
    // A process group of its own, so that a kill takes every process of the server at once.
    const child = spawn(join(PrivatePostgres.binDir, 'postgres'), args, {
      ...user,
      env: { ...process.env, ...this.env },
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.process = child;
    try {
      await waitUntil(
        async () => {
          if (!this.running) throw new Error(`postgres on port ${this.port} exited:\n${this.log().slice(-3_000)}`);
          return this.query('SELECT 1').then(
            () => true,
            () => false,
          );
        },
        timeoutMs,
        `PostgreSQL on port ${this.port} answers`,
      );
    } catch (error) {
      await this.kill();
      throw error;
    }
  }

  /** One statement on a connection of its own, to database `postgres` unless told otherwise. */
  async query<T extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    values?: unknown[],
    database = 'postgres',
  ): Promise<pg.QueryResult<T>> {
    const url = new URL(this.url);
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.query<T>(text, values);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** A fast shutdown (SIGINT: sessions end, a checkpoint is written); SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    const child = this.process;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => this.signalGroup(child, 'SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    this.process = undefined;
  }

  /** SIGKILL to every process of the server, as a crash of its machine would. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.signalGroup(child, 'SIGKILL');
    await exited;
    this.process = undefined;
  }

  /** Stops the server and removes the temporary folder `start` made for it (a given data directory stays). */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.ownDir) rmSync(this.ownDir, { recursive: true, force: true });
  }

  private signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // Already gone.
    }
  }
}
