import type { DeliveryMetrics } from '@booking/observability';
import type { BookingEvent } from '@booking/shared';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NotificationChannel } from './channels/notification-channel.js';
import { DeliveryStore } from './delivery-store.js';

export const NOTIFICATION_CHANNELS = Symbol('NOTIFICATION_CHANNELS');
export const DELIVERY_METRICS = Symbol('DELIVERY_METRICS');

/** Delivers one booking event through every channel that has not delivered it yet, and records the outcome. */
@Injectable()
export class NotificationDispatcher {
  private readonly logger = new Logger(NotificationDispatcher.name);

  constructor(
    private readonly store: DeliveryStore,
    @Inject(NOTIFICATION_CHANNELS) private readonly channels: NotificationChannel[],
    @Inject(DELIVERY_METRICS) private readonly metrics: DeliveryMetrics,
  ) {}

  async dispatch(event: BookingEvent, shutdown: AbortSignal): Promise<void> {
    const pending = await this.store.receive(
      event,
      this.channels.map((channel) => channel.name),
    );
    if (pending.length === 0) this.metrics.deliveries.inc({ channel: 'all', result: 'duplicate' });
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
            return this.store.recordFailedAttempt(event.id, channel.name, attempts, error);
          },
          shutdown,
        });
        endTimer();
        this.metrics.deliveries.inc({ channel: channel.name, result: outcome.status });
        await this.store.finish(event.id, channel.name, outcome);
        if (outcome.status === 'dead_letter') {
          this.logger.warn(
            `${channel.name} delivery of ${event.type} ${event.id} dead-lettered after ${outcome.attempts} attempts: ${outcome.error}`,
          );
        }
      }),
    );
  }
}
