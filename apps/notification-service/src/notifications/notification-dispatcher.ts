import type { DeliveryMetrics } from '@booking/observability';
import type { BookingEvent } from '@booking/shared';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NotificationChannel } from './channels/notification-channel.js';
import { DeliveryStore, UnstorableEvents, type PendingDelivery } from './delivery-store.js';

export const NOTIFICATION_CHANNELS = Symbol('NOTIFICATION_CHANNELS');
export const DELIVERY_METRICS = Symbol('DELIVERY_METRICS');

/** What became of one event of a batch once the batch is recorded. */
export type EventHandling =
  /** Recorded; settles once every channel's outcome for it is recorded (rejects if that fails). */
  | { done: Promise<void> }
  /** PostgreSQL refuses to store it (e.g. an id that is not a UUID): no redelivery can change that. */
  | { unstorable: Error };

/**
 * Records a batch of booking events, then delivers each through every channel
 * that has not delivered it yet, and records the outcomes. Channels of one
 * event, and events of one batch, are delivered independently: a slow webhook
 * holds back only its own event.
 */
@Injectable()
export class NotificationDispatcher {
  private readonly logger = new Logger(NotificationDispatcher.name);
  private readonly channelNames: string[];

  constructor(
    private readonly store: DeliveryStore,
    @Inject(NOTIFICATION_CHANNELS) private readonly channels: NotificationChannel[],
    @Inject(DELIVERY_METRICS) private readonly metrics: DeliveryMetrics,
  ) {
    this.channelNames = channels.map((channel) => channel.name);
  }

  /**
   * Resolves once the batch is recorded, with one handling per event (in order); `stop` ends the
   * deliveries still running (shutdown, or the batch out of time), leaving them pending.
   */
  async dispatch(events: readonly BookingEvent[], stop: AbortSignal): Promise<EventHandling[]> {
    const received = await this.receive(events);
    const seen = new Set<string>();
    let duplicates = 0;
    const handlings = events.map((event): EventHandling => {
      const key = event.id.toLowerCase();
      const outcome = received.get(key);
      if (outcome instanceof Error) return { unstorable: outcome };
      // A second copy of an event in the same batch has nothing left to do once the first is under way.
      const pending = seen.has(key) ? undefined : outcome;
      seen.add(key);
      if (!pending) {
        duplicates += 1;
        return { done: Promise.resolve() };
      }
      const done = this.deliver(event, pending, stop);
      // Handled by the caller; marked here so that a batch given up before the caller looks is no crash.
      done.catch(() => undefined);
      return { done };
    });
    if (duplicates > 0) this.metrics.deliveries.inc({ channel: 'all', result: 'duplicate' }, duplicates);
    return handlings;
  }

  /**
   * The pending deliveries of each event by lower-case id, recorded in one statement. When PostgreSQL
   * refuses the batch for what an event holds, the halves are tried apart until the event is found.
   */
  private async receive(events: readonly BookingEvent[]): Promise<Map<string, PendingDelivery[] | Error>> {
    try {
      return await this.store.receive(events, this.channelNames);
    } catch (error) {
      if (!(error instanceof UnstorableEvents)) throw error;
      if (events.length === 1) return new Map([[events[0]!.id.toLowerCase(), error]]);
      const half = Math.ceil(events.length / 2);
      const first = await this.receive(events.slice(0, half));
      const second = await this.receive(events.slice(half));
      return new Map([...first, ...second]);
    }
  }

  private async deliver(event: BookingEvent, pending: PendingDelivery[], stop: AbortSignal): Promise<void> {
    await Promise.all(
      pending.map(async (delivery) => {
        // A channel configured earlier and switched off since: its row stays pending.
        const channel = this.channels.find((candidate) => candidate.name === delivery.channel);
        if (!channel) return;
        const endTimer = this.metrics.deliveryDuration.startTimer({ channel: channel.name });
        const outcome = await channel.deliver(event, {
          previous: delivery.attempts,
          afterFailure: (attempts, error) => {
            this.metrics.deliveries.inc({ channel: channel.name, result: 'retried' });
            return this.store.update({
              bookingEventId: event.id,
              channel: channel.name,
              status: 'pending',
              attempts,
              error,
            });
          },
          shutdown: stop,
        });
        endTimer();
        this.metrics.deliveries.inc({ channel: channel.name, result: outcome.status });
        await this.store.update({ bookingEventId: event.id, channel: channel.name, ...outcome });
        if (outcome.status === 'dead_letter') {
          this.logger.warn(
            `${channel.name} delivery of ${event.type} ${event.id} dead-lettered after ${outcome.attempts} attempts: ${outcome.error}`,
          );
        }
      }),
    );
  }
}
