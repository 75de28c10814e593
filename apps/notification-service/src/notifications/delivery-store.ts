import { deliveries, receivedEvents, type DatabaseConnection } from '@booking/database';
import type { BookingEvent } from '@booking/shared';
import { Inject, Injectable } from '@nestjs/common';
import { and, eq, sql } from 'drizzle-orm';
import { DATABASE } from '../database/database.module.js';
import type { DeliveryOutcome } from './channels/notification-channel.js';

export interface PendingDelivery {
  channel: string;
  attempts: number;
}

/**
 * The notification service's record, in its own `notifications` schema: each
 * event id once (received_events) and one row per (event, channel) in
 * deliveries — `pending`, `delivered`, or `dead_letter` after the last attempt.
 */
@Injectable()
export class DeliveryStore {
  constructor(@Inject(DATABASE) private readonly database: DatabaseConnection) {}

  /**
   * Records the event (once, whatever the number of redeliveries) with a
   * pending delivery per channel, and returns the deliveries still to do: all
   * of them the first time, only the unfinished ones after a crash, none for a
   * duplicate of a handled event.
   */
  async receive(event: BookingEvent, channels: string[]): Promise<PendingDelivery[]> {
    return this.database.db.transaction(async (tx) => {
      await tx
        .insert(receivedEvents)
        .values({ eventId: event.id, type: event.type, correlationId: event.correlation_id, envelope: event })
        .onConflictDoNothing();
      if (channels.length > 0) {
        await tx
          .insert(deliveries)
          .values(channels.map((channel) => ({ eventId: event.id, channel, status: 'pending' })))
          .onConflictDoNothing();
      }
      return tx
        .select({ channel: deliveries.channel, attempts: deliveries.attempts })
        .from(deliveries)
        .where(and(eq(deliveries.eventId, event.id), eq(deliveries.status, 'pending')));
    });
  }

  async recordFailedAttempt(eventId: string, channel: string, attempts: number, error: string): Promise<void> {
    await this.database.db
      .update(deliveries)
      .set({ attempts, lastError: error, updatedAt: sql`now()` })
      .where(and(eq(deliveries.eventId, eventId), eq(deliveries.channel, channel)));
  }

  async finish(eventId: string, channel: string, outcome: DeliveryOutcome): Promise<void> {
    await this.database.db
      .update(deliveries)
      .set({
        status: outcome.status,
        attempts: outcome.attempts,
        lastError: outcome.error ?? null,
        updatedAt: sql`now()`,
      })
      .where(and(eq(deliveries.eventId, eventId), eq(deliveries.channel, channel)));
  }
}
