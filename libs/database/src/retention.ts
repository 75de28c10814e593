import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

export interface RetentionSettings {
  /** Rows older than this are deleted; 0 keeps them for good (the job never runs). */
  retentionMs: number;
  /** Time between two passes. */
  intervalMs: number;
  /** Rows one DELETE removes at most. */
  batchSize: number;
  /** Pause between two DELETEs of a pass. */
  pauseMs: number;
}

/** A job's settings: its own retention, and the pace (`retentionEnvSchema`) every retention job of a service shares. */
export function retentionSettings(
  config: { RETENTION_INTERVAL_MS: number; RETENTION_BATCH_SIZE: number; RETENTION_BATCH_PAUSE_MS: number },
  retentionMs: number,
): RetentionSettings {
  return {
    retentionMs,
    intervalMs: config.RETENTION_INTERVAL_MS,
    batchSize: config.RETENTION_BATCH_SIZE,
    pauseMs: config.RETENTION_BATCH_PAUSE_MS,
  };
}

export interface RetentionPass {
  /** Rows older than this were due. */
  cutoff: Date;
  deleted: number;
  batches: number;
}

interface RetentionLog {
  log(message: string): void;
  error(message: string): void;
}

/** First key of the job's advisory lock (the second is the job's name, hashed): "RETN". */
const LOCK_NAMESPACE = 0x5245544e;

/**
 * Deletes a table's rows past their retention, periodically, in small batches:
 * each DELETE is its own short transaction (under the pool's statement timeout),
 * with a pause after it, so a large backlog never holds many locks or the
 * write path's I/O for long. A pass holds a session advisory lock, so of
 * several replicas one deletes and the others skip their turn instead of
 * contending for the same rows.
 *
 * `deleteBatchSql` is one DELETE of at most $2 rows older than $1 (a
 * timestamptz); a pass ends with the first DELETE that removes fewer.
 */
export class RetentionJob {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private readonly stopping = new AbortController();

  constructor(
    private readonly pool: pg.Pool,
    readonly name: string,
    private readonly deleteBatchSql: string,
    readonly settings: RetentionSettings,
    private readonly logger?: RetentionLog,
  ) {}

  /** Runs a pass now and then every interval; nothing when retention is 0. */
  start(): void {
    if (this.settings.retentionMs === 0 || this.timer) return;
    this.timer = setInterval(() => this.tick(), this.settings.intervalMs);
    this.timer.unref();
    this.tick();
  }

  /** Stops the schedule and waits for a pass under way: it ends after its current DELETE. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.running;
  }

  // Nest calls these on a provider that has them.
  onApplicationBootstrap(): void {
    this.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  /**
   * One pass: deletes every row older than the retention at `now`, batch by batch. Undefined when another
   * runner's pass holds the lock.
   */
  async runPass(now = new Date()): Promise<RetentionPass | undefined> {
    const cutoff = new Date(now.getTime() - this.settings.retentionMs);
    const client = await this.pool.connect();
    let failure: Error | undefined;
    try {
      const lock = [LOCK_NAMESPACE, this.name];
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked',
        lock,
      );
      if (!rows[0]!.locked) return undefined;
      try {
        const pass: RetentionPass = { cutoff, deleted: 0, batches: 0 };
        while (!this.stopping.signal.aborted) {
          const { rowCount } = await client.query(this.deleteBatchSql, [cutoff, this.settings.batchSize]);
          pass.batches += 1;
          pass.deleted += rowCount ?? 0;
          if ((rowCount ?? 0) < this.settings.batchSize) break;
          await sleep(this.settings.pauseMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
        }
        return pass;
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', lock);
      }
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      // A failed connection is closed rather than pooled: closing the session also frees a lock it may hold.
      client.release(failure);
    }
  }

  private tick(): void {
    if (this.running || this.stopping.signal.aborted) return;
    this.running = this.runPass()
      .then(
        (pass) => {
          if (pass && pass.deleted > 0) {
            this.logger?.log(
              `${this.name}: deleted ${pass.deleted} rows older than ${pass.cutoff.toISOString()} in ${pass.batches} batches`,
            );
          }
        },
        (error: unknown) =>
          this.logger?.error(
            `${this.name}: ${error instanceof Error ? error.message : String(error)}; next pass later`,
          ),
      )
      .finally(() => {
        this.running = undefined;
      });
  }
}
