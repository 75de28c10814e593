import { LOGGER, type Logger } from '@booking/observability';
import { BookingEventType, type BookingEvent } from '@booking/shared';
import { Inject, Injectable } from '@nestjs/common';
import type { DeliveryAttempts, DeliveryOutcome, NotificationChannel } from './notification-channel.js';

const MESSAGES: Record<BookingEvent['type'], string> = {
  [BookingEventType.created]: 'Booking made',
  [BookingEventType.cancelled]: 'Booking cancelled',
  [BookingEventType.failed]: 'Booking refused',
  [BookingEventType.eventUpdated]: 'Event changed by an organiser',
};

/**
 * One log line per booking event, at info, its facts as fields: `notification`
 * (the event type), `message_id` (the envelope's id), `booking_id`, `event_id`
 * (the event booked), `user_id`, `occurred_at`, `correlationId`, for a
 * refusal its `reason`, and for an organiser's change (`event.updated`, when
 * NOTIFICATION_EVENT_TYPES lists it) `actor` and the fields `changed`.
 */
@Injectable()
export class LogChannel implements NotificationChannel {
  readonly name = 'log';
  private readonly logger: Logger;

  constructor(@Inject(LOGGER) logger: Logger) {
    // The fields below are the only ones written, none of them a credential: no need for the service
    // logger's redaction, which looks into every field of every line and is most of a line's cost.
    this.logger = logger.child({ context: 'Notification' }, { redact: [] });
  }

  deliver(event: BookingEvent, attempts: DeliveryAttempts): Promise<DeliveryOutcome> {
    const { data } = event;
    this.logger.info(
      {
        notification: event.type,
        message_id: event.id,
        booking_id: 'booking_id' in data ? data.booking_id : undefined,
        event_id: data.event_id,
        user_id: 'user_id' in data ? data.user_id : undefined,
        reason: 'reason' in data ? data.reason : undefined,
        actor: 'actor' in data ? data.actor : undefined,
        changed: 'changes' in data ? Object.keys(data.changes) : undefined,
        occurred_at: event.occurred_at,
        correlationId: event.correlation_id,
      },
      MESSAGES[event.type],
    );
    return Promise.resolve({ status: 'delivered', attempts: attempts.previous + 1 });
  }
}
