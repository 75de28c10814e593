import { OUTBOX_NOTIFY_CHANNEL, type DatabaseConnection } from '@booking/database';
import { createOutboxMetrics, METRICS_REGISTRY, type OutboxBacklog, type Registry } from '@booking/observability';
import { ensureBookingEventsStream, type BookingEvent } from '@booking/shared';
import type { NatsConnection } from '@nats-io/nats-core';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { DATABASE } from '../database/database.module.js';
import { EVENTS_NATS } from './events-nats.provider.js';
import { JetStreamBatchPublisher } from './jetstream-batch-publisher.js';
import { PgListener } from './pg-listener.js';

interface PendingRow {
  id: string;
  type: BookingEvent['type'];
  occurred_at: Date;
  correlation_id: string;
  data: BookingEvent['data'];
}

/**
 * Publishes committed outbox rows to JetStream, oldest first, with the row id as
 * the message id (JetStream drops a re-send within its duplicate window).
 *
 * Each batch is claimed with `FOR UPDATE SKIP LOCKED` inside a transaction that
 * stays open until the rows are published and stamped, so relays of several
 * replicas never publish the same row; a relay that dies mid-batch releases its
 * rows (rollback) and another publishes them again, which the message id
 * de-duplicates. While NATS is down publishes time out, the rows stay pending
 * and the relay retries with backoff; NATS reconnecting wakes it at once.
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

  constructor(
    @Inject(BOOKING_SERVICE_CONFIG) private readonly config: BookingServiceConfig,
    @Inject(DATABASE) private readonly database: DatabaseConnection,
    @Inject(EVENTS_NATS) private readonly nats: NatsConnection,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.publisher = new JetStreamBatchPublisher(nats, config.OUTBOX_PUBLISH_TIMEOUT_MS);
    this.metrics = createOutboxMetrics(registry, () => this.backlog());
  }

  /** Unpublished rows and the age of the oldest (served by the partial index on unpublished rows). */
  async backlog(): Promise<OutboxBacklog> {
    const { rows } = await this.database.pool.query<{ pending: number; oldest_age_seconds: number }>(
      `SELECT count(*)::int AS pending,
              COALESCE(EXTRACT(EPOCH FROM now() - min(occurred_at)), 0)::float8 AS oldest_age_seconds
         FROM outbox WHERE published_at IS NULL`,
    );
    return { pending: rows[0]!.pending, oldestAgeSeconds: rows[0]!.oldest_age_seconds };
  }

  async onApplicationBootstrap(): Promise<void> {
    await ensureBookingEventsStream(this.nats);
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

  /** Claims, publishes and stamps one batch; returns how many rows it claimed. */
  async publishBatch(): Promise<number> {
    const client = await this.database.pool.connect();
    let released = false;
    try {
      // Stamped rows leave dead entries in the partial index until VACUUM. A bitmap scan (the planner's
      // choice, pending rows being few) visits all of them on every claim: 2.9 ms a claim in a load run,
      // against 0.2 ms for the ordered index scan, which marks them dead as it passes and skips them after.
      await client.query('BEGIN; SET LOCAL enable_bitmapscan = off');
      const { rows } = await client.query<PendingRow>(
        `SELECT id, type, occurred_at, correlation_id, data FROM outbox
          WHERE published_at IS NULL ORDER BY position
          LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.config.OUTBOX_BATCH_SIZE],
      );
      const outcomes = await this.publisher.publish(
        rows.map((row) => ({ subject: row.type, data: JSON.stringify(toEnvelope(row)), msgID: row.id })),
      );
      const published = rows.filter((_, index) => outcomes[index] === undefined).map((row) => row.id);
      if (published.length > 0) {
        await client.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])', [published]);
      }
      await client.query('COMMIT');
      this.publishedCount += published.length;
      if (published.length > 0) this.metrics.published.inc({ outcome: 'ok' }, published.length);
      if (published.length < rows.length)
        this.metrics.published.inc({ outcome: 'error' }, rows.length - published.length);
      const failure = outcomes.find((outcome) => outcome !== undefined);
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

function toEnvelope(row: PendingRow): BookingEvent {
  return {
    id: row.id,
    type: row.type,
    occurred_at: new Date(row.occurred_at).toISOString(),
    correlation_id: row.correlation_id,
    data: row.data,
  } as BookingEvent;
}
