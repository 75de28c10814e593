import type { DeliveryMetrics } from '@booking/observability';
import type { BookingEvent } from '@booking/shared';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { LogChannel } from './channels/log.channel.js';
import type { WebhookChannel } from './channels/webhook.channel.js';
import { DeliveryStore, LOG_CHANNEL, UnstorableEvents, type PendingDelivery } from './delivery-store.js';

/** The webhook channel, or null when NOTIFY_WEBHOOK_URL is unset. */
export const WEBHOOK_CHANNEL = Symbol('WEBHOOK_CHANNEL');
export const DELIVERY_METRICS = Symbol('DELIVERY_METRICS');

/** What became of one event of a batch once the batch is recorded. */
export type EventHandling =
  /** Recorded; settles once every channel's outcome for it is recorded (rejects if that fails). */
  | { done: Promise<void> }
  /** PostgreSQL refuses to store it (e.g. an id that is not a UUID): no redelivery can change that. */
  | { unstorable: Error };

/** Per event of a recorded batch: the deliveries left after the commit, nothing to do (undefined), or why it cannot be stored. */
type Received = PendingDelivery[] | undefined | Error;

/**
 * Records a batch of booking events, writing their log lines before the
 * commit, then delivers each through the webhook unless that is done already,
 * and records the outcomes. Events of one batch are delivered independently:
 * a slow webhook holds back only its own event.
 */
@Injectable()
export class NotificationDispatcher {
  private readonly logger = new Logger(NotificationDispatcher.name);
  /** The channels delivered after the commit, whose outcomes are recorded apart. */
  private readonly afterCommit: string[];

  constructor(
    private readonly store: DeliveryStore,
    private readonly log: LogChannel,
    @Inject(WEBHOOK_CHANNEL) private readonly webhook: WebhookChannel | null,
    @Inject(DELIVERY_METRICS) private readonly metrics: DeliveryMetrics,
  ) {
    this.afterCommit = webhook ? [webhook.name] : [];
  }

  /**
   * Resolves once the batch is recorded, with one handling per event (in order); `stop` ends the
   * deliveries still running (shutdown, or the batch out of time), leaving them pending.
   */
  async dispatch(events: readonly BookingEvent[], stop: AbortSignal): Promise<EventHandling[]> {
    // A second copy of an event in the same batch is recorded once, and has nothing left to do.
    const distinct: BookingEvent[] = [];
    const firstCopy = new Map<string, number>();
    const slots = events.map((event) => {
      const key = event.id.toLowerCase();
      const first = firstCopy.get(key);
      if (first !== undefined) return { index: first, copy: true };
      firstCopy.set(key, distinct.push(event) - 1);
      return { index: distinct.length - 1, copy: false };
    });
    const received = await this.receive(distinct);
    let duplicates = 0;
    const handlings = events.map((event, i): EventHandling => {
      const { index, copy } = slots[i]!;
      const outcome = received[index];
      if (outcome instanceof Error) return { unstorable: outcome };
      if (copy || outcome === undefined) duplicates += 1;
      if (copy || outcome === undefined || outcome.length === 0) return { done: Promise.resolve() };
      const done = this.deliver(event, outcome, stop);
      // Handled by the caller; marked here so that a batch given up before the caller looks is no crash.
      done.catch(() => undefined);
      return { done };
    });
    if (duplicates > 0) this.metrics.deliveries.inc({ channel: 'all', result: 'duplicate' }, duplicates);
    return handlings;
  }

  /**
   * What is left of each event (ids distinct) once recorded, in one transaction. When PostgreSQL refuses
   * the batch for what an event holds, the halves are tried apart until the event is found.
   */
  private async receive(events: readonly BookingEvent[]): Promise<Received[]> {
    try {
      const left = await this.store.receive(events, this.afterCommit, (logged) => {
        this.log.write(logged);
        if (logged.length > 0)
          this.metrics.deliveries.inc({ channel: LOG_CHANNEL, result: 'delivered' }, logged.length);
      });
      return events.map((_, index) => left.get(index));
    } catch (error) {
      if (!(error instanceof UnstorableEvents)) throw error;
      if (events.length === 1) return [error];
      const half = Math.ceil(events.length / 2);
      const first = await this.receive(events.slice(0, half));
      const second = await this.receive(events.slice(half));
      return [...first, ...second];
    }
  }

  private async deliver(event: BookingEvent, pending: PendingDelivery[], stop: AbortSignal): Promise<void> {
    await Promise.all(
      pending.map(async (delivery) => {
        // A channel configured earlier and switched off since: its row stays pending.
        const channel = this.webhook?.name === delivery.channel ? this.webhook : undefined;
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
