import type { DatabaseConnection } from './client.js';

/** How long a replica that failed is left alone before it is tried again. */
const REPLICA_RETRY_AFTER_MS = 5_000;

export interface ReplicaReadCounts {
  /** Answered by the replica. */
  replica: number;
  /** Sent to the primary because the replica had not yet replayed what the primary had committed. */
  behind: number;
  /** Sent to the primary because the replica failed or was being left alone. */
  unavailable: number;
}

/**
 * Reads that may be answered by a streaming standby (`DATABASE_READ_URL`),
 * never at the cost of reading one's own writes: before a read goes to the
 * replica, the primary's current WAL position is taken, and the replica
 * answers only if it has replayed up to it, so every write acknowledged
 * before the read began is in what it reads (from any replica of the
 * service). A replica that is behind, down or not a standby at all leaves the
 * read to the primary; one that failed is left alone for a few seconds.
 * Without a replica every read goes to the primary.
 */
export class ReplicaReads {
  private retryReplicaAt = 0;
  readonly counts: ReplicaReadCounts = { replica: 0, behind: 0, unavailable: 0 };

  constructor(
    private readonly primary: DatabaseConnection,
    private readonly replica: DatabaseConnection | undefined,
    private readonly log: { warn(message: string): void },
  ) {}

  async read<T>(query: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    const replica = this.replica;
    if (!replica) return query(this.primary);
    if (Date.now() < this.retryReplicaAt) {
      this.counts.unavailable++;
      return query(this.primary);
    }
    // From the primary, outside the replica's failures: a primary that fails fails the read anyway.
    const { rows } = await this.primary.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    try {
      const replayed = await replica.pool.query<{ caught_up: boolean | null }>(
        'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught_up',
        [rows[0]!.lsn],
      );
      if (replayed.rows[0]?.caught_up === true) {
        const answer = await query(replica);
        this.counts.replica++;
        return answer;
      }
    } catch (error) {
      this.retryReplicaAt = Date.now() + REPLICA_RETRY_AFTER_MS;
      this.counts.unavailable++;
      this.log.warn(`read replica failed, reading the primary for a while: ${(error as Error).message}`);
      return query(this.primary);
    }
    this.counts.behind++;
    return query(this.primary);
  }

  async close(): Promise<void> {
    await this.replica?.close();
  }
}
