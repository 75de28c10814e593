import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PrivatePostgres, runAsPostgresUser } from './private-postgres.js';
import { waitUntil } from './wait.js';

/**
 * A private PostgreSQL primary and a standby made from it with `pg_basebackup -R`, streaming, each
 * on a free port, in a temporary directory: commits wait until the standby has the commit on its
 * disk (`synchronous_commit = on`), so an acknowledged commit survives the primary. The standby runs
 * without a synchronous standby of its own, so that once promoted it commits alone.
 */
export class PostgresWithStandby {
  private constructor(
    readonly dir: string,
    readonly primary: PrivatePostgres,
    readonly standby: PrivatePostgres,
  ) {}

  static async start(): Promise<PostgresWithStandby> {
    const dir = PrivatePostgres.tempDir('postgres');
    const started: PrivatePostgres[] = [];
    try {
      // `cluster_name` is the name a standby's WAL receiver gives the primary.
      const primary = await PrivatePostgres.start({
        dataDir: join(dir, 'primary'),
        settings: { cluster_name: 'primary', synchronous_standby_names: 'standby', synchronous_commit: 'on' },
      });
      started.push(primary);
      const standbyDir = join(dir, 'standby');
      await runAsPostgresUser(join(PrivatePostgres.binDir, 'pg_basebackup'), [
        ...['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres'],
        ...['-D', standbyDir, '-R', '-X', 'stream', '-c', 'fast'],
      ]);
      const standby = await PrivatePostgres.start({
        dataDir: standbyDir,
        settings: { cluster_name: 'standby', synchronous_standby_names: '' },
      });
      started.push(standby);
      await waitUntil(
        async () =>
          (
            await primary.query<{ sync_state: string }>(
              "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'",
            )
          ).rows[0]?.sync_state === 'sync',
        30_000,
        'the standby streams synchronously',
      );
      return new PostgresWithStandby(dir, primary, standby);
    } catch (error) {
      await Promise.all(started.map((server) => server.kill()));
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Makes the standby a primary and resolves once it accepts writes. */
  async promoteStandby(): Promise<void> {
    const { rows } = await this.standby.query<{ promoted: boolean }>('SELECT pg_promote(true, 60) AS promoted');
    if (!rows[0]?.promoted) throw new Error(`the standby was not promoted:\n${this.standby.log().slice(-2_000)}`);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.primary.kill(), this.standby.kill()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
