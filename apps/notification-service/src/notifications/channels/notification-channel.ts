import type { BookingEvent } from '@booking/shared';

/** How one channel's delivery of one event ended. */
export interface DeliveryOutcome {
  status: 'delivered' | 'dead_letter';
  /** All attempts so far, including those of earlier runs. */
  attempts: number;
  error?: string;
}

export interface DeliveryAttempts {
  /** Attempts made before (by a run that crashed or stopped mid-delivery). */
  previous: number;
  /** Records a failed attempt, so a restart continues the count instead of starting over. */
  afterFailure(attempts: number, error: string): Promise<void>;
  /** Aborted on shutdown: the delivery stops and stays pending, to be resumed on redelivery. */
  shutdown: AbortSignal;
}

/** A way of telling the outside world about a booking event (log line, webhook, ...). */
export interface NotificationChannel {
  readonly name: string;
  deliver(event: BookingEvent, attempts: DeliveryAttempts): Promise<DeliveryOutcome>;
}
