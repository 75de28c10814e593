import type { DatabaseConnection } from '@booking/database';
import type pg from 'pg';
import type { BookingEvent } from '@booking/shared';
import { Inject, Injectable } from '@nestjs/common';
import { DATABASE } from '@booking/service-kit';

export interface PendingDelivery {
  channel: string;
  attempts: number;
}

/** A delivery's state after an attempt: still `pending` (a failed attempt, more to come) or its outcome. */
export interface DeliveryUpdate {
  /** The booking event's id (its envelope's `id`). */
  bookingEventId: string;
  channel: string;
  status: 'pending' | 'delivered' | 'dead_letter';
  attempts: number;
  error?: string;
}

/** PostgreSQL refused a batch for what one of its events holds, not for being unavailable. */
export class UnstorableEvents extends Error {
  override name = 'UnstorableEvents';
}

interface QueuedUpdate {
  update: DeliveryUpdate;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The channel delivered while its event is recorded: a log line cannot fail on its own. */
export const LOG_CHANNEL = 'log';

/**
 * SQLSTATE classes of a batch refused for what it holds rather than for PostgreSQL being unavailable:
 * 21 (one event twice under two spellings of its id), 22 (data exception), 23 (integrity constraint).
 */
const UNSTORABLE_CLASSES = ['21', '22', '23'];

/**
 * The notification service's record, in its own `notifications` schema: each
 * event id once (received_events) and one row per (event, channel) in
 * deliveries — `pending`, `delivered`, or `dead_letter` after the last attempt.
 * A batch of events is recorded by one transaction, and delivery updates are
 * written together: one UPDATE at a time, carrying every update that arrived
 * while the one before ran.
 */
@Injectable()
export class DeliveryStore {
  private queued: QueuedUpdate[] = [];
  private writing = false;

  constructor(@Inject(DATABASE) private readonly database: DatabaseConnection) {}

  /**
   * Records the events (each once, whatever the number of redeliveries; their ids distinct) in one
   * transaction: the log channel's delivery as `delivered`, and a pending delivery for each of
   * `channels` (delivered after the commit). `log` is called, before the commit, with the events whose
   * log delivery this transaction records, so a line is written before its record commits, and again
   * after a failed commit or a crash. Returns, by index in `events`, each event's deliveries still to
   * make after the commit: all of `channels` the first time, only the unfinished ones after a crash; an
   * event this transaction did nothing for (a duplicate of a handled event) is absent. The envelope is
   * kept (for re-driving a dead letter) only with channels that can dead-letter it.
   */
  async receive(
    events: readonly BookingEvent[],
    channels: readonly string[],
    log: (events: BookingEvent[]) => void,
  ): Promise<Map<number, PendingDelivery[]>> {
    const keepEnvelopes = channels.length > 0;
    const batch = JSON.stringify(
      keepEnvelopes ? events : events.map(({ id, type, correlation_id }) => ({ id, type, correlation_id })),
    );
    const client = await this.database.pool.connect();
    let broken: Error | undefined;
    try {
      // BEGIN and the statement in one round trip (a simple query, so the batch goes as an escaped literal),
      // the lines, then COMMIT: each round trip costs the service more than its share of the statement.
      const results = (await client.query(
        `BEGIN; ${receiveStatement(
          client.escapeLiteral(batch),
          keepEnvelopes ? `ARRAY[${channels.map((channel) => client.escapeLiteral(channel)).join(', ')}]` : undefined,
        )}`,
      )) as unknown as pg.QueryResult<{ n: string; channel: string; attempts: number }>[];
      const rows = results.at(-1)!.rows;
      const pending = new Map<number, PendingDelivery[]>();
      const logged: number[] = [];
      for (const row of rows) {
        const index = Number(row.n) - 1;
        const list = pending.get(index) ?? [];
        pending.set(index, list);
        if (row.channel === LOG_CHANNEL) logged.push(index);
        else list.push({ channel: row.channel, attempts: row.attempts });
      }
      log(logged.sort((a, b) => a - b).map((index) => events[index]!));
      await client.query('COMMIT');
      return pending;
    } catch (error) {
      // A connection that cannot even roll back is not handed out again.
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && UNSTORABLE_CLASSES.includes(code.slice(0, 2))) {
        throw new UnstorableEvents((error as Error).message, { cause: error });
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Resolves once the update is written (with the others that arrived meanwhile, in one statement). */
  update(update: DeliveryUpdate): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ update, resolve, reject });
      // Once the current turn of the event loop has added its updates (a batch's log deliveries all at once).
      if (!this.writing && this.queued.length === 1) setImmediate(() => void this.write());
    });
  }

  private async write(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    while (this.queued.length > 0) {
      const taken = this.queued;
      this.queued = [];
      // A later update of the same delivery replaces an earlier one: one UPDATE applies only one per row.
      const latest = new Map(taken.map(({ update }) => [`${update.bookingEventId} ${update.channel}`, update]));
      const updates = [...latest.values()];
      try {
        await this.database.pool.query(
          `UPDATE notifications.deliveries d
              SET status = u.status, attempts = u.attempts, last_error = u.last_error, updated_at = now()
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[])
                  AS u(event_id, channel, status, attempts, last_error)
            WHERE d.event_id = u.event_id AND d.channel = u.channel`,
          [
            updates.map((u) => u.bookingEventId),
            updates.map((u) => u.channel),
            updates.map((u) => u.status),
            updates.map((u) => u.attempts),
            updates.map((u) => u.error ?? null),
          ],
        );
        for (const { resolve } of taken) resolve();
      } catch (error) {
        for (const { reject } of taken) reject(error);
      }
    }
    this.writing = false;
  }
}

/**
 * One statement for a batch (`batch`, a JSON array literal), also inserting a pending delivery for each of
 * `channels` (a text array expression) when given. `batch` numbers the events (their index + 1); the
 * deliveries inserted by the statement are not in its snapshot, the ones from before are, so the parts of
 * the UNION never overlap. A log delivery left pending by an earlier version of the service is finished
 * here too. The envelope is kept only with channels to deliver after the commit.
 */
function receiveStatement(batch: string, channels: string | undefined): string {
  const recorded = `WITH batch AS (
      SELECT e.n, (e.v->>'id')::uuid AS event_id, e.v->>'type' AS type, e.v->>'correlation_id' AS correlation_id,
             ${channels ? 'e.v' : 'NULL::jsonb'} AS envelope
        FROM jsonb_array_elements(${batch}::jsonb) WITH ORDINALITY AS e(v, n)
    ), received AS (
      INSERT INTO notifications.received_events (event_id, type, correlation_id, envelope)
      SELECT event_id, type, correlation_id, envelope FROM batch
      ON CONFLICT (event_id) DO NOTHING
    ), logged AS (
      INSERT INTO notifications.deliveries (event_id, channel, status, attempts)
      SELECT event_id, '${LOG_CHANNEL}', 'delivered', 1 FROM batch
      ON CONFLICT (event_id, channel) DO UPDATE
         SET status = 'delivered', attempts = deliveries.attempts + 1, updated_at = now()
       WHERE deliveries.status = 'pending'
      RETURNING event_id
    )`;
  const logged = `SELECT b.n, '${LOG_CHANNEL}' AS channel, 0 AS attempts FROM logged JOIN batch b USING (event_id)`;
  if (!channels) return `${recorded} ${logged}`;
  return `${recorded}, created AS (
      INSERT INTO notifications.deliveries (event_id, channel, status)
      SELECT b.event_id, c.channel, 'pending' FROM batch b CROSS JOIN unnest(${channels}::text[]) AS c(channel)
      ON CONFLICT (event_id, channel) DO NOTHING
      RETURNING event_id, channel, attempts
    )
    ${logged}
    UNION ALL
    SELECT b.n, c.channel, c.attempts FROM created c JOIN batch b USING (event_id)
    UNION ALL
    SELECT b.n, d.channel, d.attempts
      FROM notifications.deliveries d JOIN batch b USING (event_id)
     WHERE d.status = 'pending' AND d.channel <> '${LOG_CHANNEL}'`;
}
