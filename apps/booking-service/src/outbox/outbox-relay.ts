import { OUTBOX_NOTIFY_CHANNEL, type DatabaseConnection } from '@booking/database';
import { createOutboxMetrics, METRICS_REGISTRY, type OutboxBacklog, type Registry } from '@booking/observability';
import {
  bookingEventsStreamLimits,
  ensureBookingEventsStream,
  namesFor,
  natsInboxPrefix,
  type BookingNames,
} from '@booking/shared';
import type { NatsConnection } from '@nats-io/nats-core';
import type pg from 'pg';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { DATABASE } from '@booking/service-kit';
import { EVENTS_NATS } from './events-nats.provider.js';
import { JetStreamBatchPublisher } from './jetstream-batch-publisher.js';
import { toBookingEvent, type OutboxEventRow } from './outbox-events.js';
import { PgListener } from './pg-listener.js';

interface PendingRow extends OutboxEventRow {
  /** int8, which pg hands over as a string. */
  position: string;
}

/**
 * Publishes committed outbox rows to JetStream, oldest first, with the row id as
 * the message id (JetStream drops a re-send within its duplicate window).
 *
 * Each batch is claimed from `outbox_pending` with `FOR UPDATE SKIP LOCKED`
 * inside a transaction that stays open until the rows are published and
 * dequeued, so relays of several replicas never publish the same row; a relay
 * that dies mid-batch releases its rows (rollback) and another publishes them
 * again, which the message id de-duplicates. While NATS is down publishes time
 * out, the rows stay pending and the relay retries with backoff; NATS
 * reconnecting wakes it at once.
 *
 * Wake-ups: NOTIFY from the outbox trigger (after every commit), NATS
 * reconnects, and a slow poll as a safety net.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly publisher: JetStreamBatchPublisher;
  private listener?: PgListener;
  private pollTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private retryDelayMs = 0;
  private running?: Promise<void>;
  private wakeAgain = false;
  private stopped = false;
  /** Rows this relay has published (successful publishes, including ones JetStream found duplicate). */
  publishedCount = 0;
  private readonly metrics: ReturnType<typeof createOutboxMetrics>;
  private readonly names: BookingNames;

  constructor(
    @Inject(BOOKING_SERVICE_CONFIG) private readonly config: BookingServiceConfig,
    @Inject(DATABASE) private readonly database: DatabaseConnection,
    @Inject(EVENTS_NATS) private readonly nats: NatsConnection,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.names = namesFor(config.BOOKING_NAMESPACE);
    this.publisher = new JetStreamBatchPublisher(nats, config.OUTBOX_PUBLISH_TIMEOUT_MS, natsInboxPrefix(config));
    this.metrics = createOutboxMetrics(registry, () => this.backlog());
  }

  /** Unpublished rows and the age of the first in line (two index lookups, however long the outbox). */
  async backlog(): Promise<OutboxBacklog> {
    const { rows } = await this.database.pool.query<{ pending: number; oldest_age_seconds: number }>(
      `SELECT count(*)::int AS pending,
              COALESCE(EXTRACT(EPOCH FROM now() - (
                SELECT occurred_at FROM outbox WHERE position = (SELECT min(position) FROM outbox_pending)
              )), 0)::float8 AS oldest_age_seconds
         FROM outbox_pending`,
    );
    return { pending: rows[0]!.pending, oldestAgeSeconds: rows[0]!.oldest_age_seconds };
  }

  async onApplicationBootstrap(): Promise<void> {
    await ensureBookingEventsStream(this.nats, this.names, bookingEventsStreamLimits(this.config));
    void this.wakeOnReconnect();
    this.listener = new PgListener(this.config.DATABASE_URL, OUTBOX_NOTIFY_CHANNEL, () => this.wake());
    await this.listener.start();
    this.pollTimer = setInterval(() => this.wake(), this.config.OUTBOX_POLL_INTERVAL_MS);
    this.pollTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    await this.listener?.close();
    await this.running;
    this.publisher.close();
  }

  /** Publishes everything pending now; a wake-up while a drain runs makes it go round once more. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeAgain = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves once no drain is running (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    do {
      this.wakeAgain = false;
      try {
        while (!this.stopped && (await this.publishBatch()) === this.config.OUTBOX_BATCH_SIZE);
        this.retryDelayMs = 0;
      } catch (error) {
        this.scheduleRetry(error);
        return;
      }
    } while (this.wakeAgain && !this.stopped);
  }

  /**
   * Claims, publishes and dequeues one batch in two round trips: the claim, which dequeues the rows in
   * the same statement, and the commit, once JetStream has acknowledged them. Rows it did not
   * acknowledge go back in the queue before the commit; a relay that dies before it rolls back.
   * Returns how many rows it claimed.
   */
  async publishBatch(): Promise<number> {
    const client = await this.database.pool.connect();
    let released = false;
    try {
      // Dequeued rows leave dead entries in the queue's index, and dead rows in its heap, until VACUUM.
      // A bitmap or sequential scan (the planner's choice, pending rows being few) visits all of them on
      // every claim; the ordered index scan marks them dead as it passes and skips them after.
      // The queue first: joined directly, the planner may walk the whole outbox in position order instead.
      // Sent as one simple query (no parameters: the limit is a number from the configuration).
      const results = (await client.query(
        `BEGIN; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off;
         WITH claimed AS MATERIALIZED (
           SELECT position FROM outbox_pending ORDER BY position LIMIT ${this.config.OUTBOX_BATCH_SIZE}
           FOR UPDATE SKIP LOCKED
         ), dequeued AS (
           DELETE FROM outbox_pending q USING claimed c WHERE q.position = c.position RETURNING q.position
         )
         SELECT o.position, o.id, o.type, o.occurred_at, o.correlation_id, o.data
           FROM dequeued JOIN outbox o USING (position) ORDER BY o.position`,
      )) as unknown as pg.QueryResult<PendingRow>[];
      const rows = results.at(-1)!.rows;
      const outcomes = await this.publisher.publish(
        rows.map((row) => ({
          subject: this.names.eventSubject(row.type),
          data: JSON.stringify(toBookingEvent(row)),
          msgID: row.id,
        })),
      );
      const failure = outcomes.find((outcome) => outcome !== undefined);
      const unpublished = rows.filter((_, index) => outcomes[index] !== undefined).map((row) => row.position);
      const published = rows.length - unpublished.length;
      // When none went out (NATS down), the rollback below puts every row back as it was.
      if (!failure || published > 0) {
        if (unpublished.length > 0) {
          await client.query('INSERT INTO outbox_pending (position) SELECT unnest($1::bigint[])', [unpublished]);
        }
        await client.query('COMMIT');
      }
      this.publishedCount += published;
      if (published > 0) this.metrics.published.inc({ outcome: 'ok' }, published);
      if (unpublished.length > 0) this.metrics.published.inc({ outcome: 'error' }, unpublished.length);
      if (failure) throw failure;
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(error instanceof Error ? error : true);
      released = true;
      throw error;
    } finally {
      if (!released) client.release();
    }
  }

  private scheduleRetry(error: unknown): void {
    this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 100), this.config.OUTBOX_POLL_INTERVAL_MS);
    this.logger.warn(
      `Outbox relay: publishing paused (${error instanceof Error ? error.message : String(error)}); retry in ${this.retryDelayMs} ms`,
    );
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.wake(), this.retryDelayMs);
    this.retryTimer.unref();
  }

  private async wakeOnReconnect(): Promise<void> {
    for await (const status of this.nats.status()) {
      if (status.type === 'reconnect') {
        this.retryDelayMs = 0;
        this.wake();
      }
    }
  }
}
