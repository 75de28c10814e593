import type { DatabaseConnection } from '@booking/database';
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

/** PostgreSQL refused a batch for what one of its events holds (SQLSTATE class 22 or 23), not for being unavailable. */
export class UnstorableEvents extends Error {
  override name = 'UnstorableEvents';
}

interface QueuedUpdate {
  update: DeliveryUpdate;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The notification service's record, in its own `notifications` schema: each
 * event id once (received_events) and one row per (event, channel) in
 * deliveries — `pending`, `delivered`, or `dead_letter` after the last attempt.
 * A batch of events is recorded by one statement, and delivery updates are
 * written together: one UPDATE at a time, carrying every update that arrived
 * while the one before ran.
 */
@Injectable()
export class DeliveryStore {
  private queued: QueuedUpdate[] = [];
  private writing = false;

  constructor(@Inject(DATABASE) private readonly database: DatabaseConnection) {}

  /**
   * Records the events (each once, whatever the number of redeliveries) with a
   * pending delivery per channel, and returns each event's deliveries still to
   * do: all of them the first time, only the unfinished ones after a crash,
   * none for a duplicate of a handled event. One statement, one transaction.
   */
  async receive(events: readonly BookingEvent[], channels: readonly string[]): Promise<Map<string, PendingDelivery[]>> {
    let rows: { event_id: string; channel: string; attempts: number }[];
    try {
      ({ rows } = await this.database.pool.query(
        // The deliveries inserted here are not in the statement's snapshot, the ones from before are:
        // the two halves of the UNION never overlap.
        `WITH batch AS (
           SELECT (e->>'id')::uuid AS event_id, e->>'type' AS type, e->>'correlation_id' AS correlation_id, e AS envelope
             FROM jsonb_array_elements($1::jsonb) AS e
         ), received AS (
           INSERT INTO notifications.received_events (event_id, type, correlation_id, envelope)
           SELECT event_id, type, correlation_id, envelope FROM batch
           ON CONFLICT (event_id) DO NOTHING
         ), created AS (
           INSERT INTO notifications.deliveries (event_id, channel, status)
           SELECT b.event_id, c.channel, 'pending' FROM batch b CROSS JOIN unnest($2::text[]) AS c(channel)
           ON CONFLICT (event_id, channel) DO NOTHING
           RETURNING event_id, channel, attempts
         )
         SELECT event_id, channel, attempts FROM created
         UNION ALL
         SELECT d.event_id, d.channel, d.attempts
           FROM notifications.deliveries d JOIN batch b USING (event_id)
          WHERE d.status = 'pending'`,
        [JSON.stringify(events), channels],
      ));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'))) {
        throw new UnstorableEvents((error as Error).message, { cause: error });
      }
      throw error;
    }
    const pending = new Map<string, PendingDelivery[]>();
    for (const row of rows) {
      const list = pending.get(row.event_id);
      const delivery = { channel: row.channel, attempts: row.attempts };
      if (list) list.push(delivery);
      else pending.set(row.event_id, [delivery]);
    }
    return pending;
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
