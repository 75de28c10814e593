import type { BookingEvent } from '@booking/shared';
import { Injectable, Logger } from '@nestjs/common';
import type { DeliveryAttempts, DeliveryOutcome, NotificationChannel } from './notification-channel.js';

/** One structured log line per booking event. */
@Injectable()
export class LogChannel implements NotificationChannel {
  readonly name = 'log';
  private readonly logger = new Logger('Notification');

  deliver(event: BookingEvent, attempts: DeliveryAttempts): Promise<DeliveryOutcome> {
    this.logger.log(
      JSON.stringify({
        notification: event.type,
        event_id: event.id,
        correlation_id: event.correlation_id,
        occurred_at: event.occurred_at,
        data: event.data,
      }),
    );
    return Promise.resolve({ status: 'delivered', attempts: attempts.previous + 1 });
  }
}
