import { holdLines, LOGGER, type HeldLines, type Logger } from '@booking/observability';
import { BookingEventType, type BookingEvent } from '@booking/shared';
import { Inject, Injectable } from '@nestjs/common';

const MESSAGES: Record<BookingEvent['type'], string> = {
  [BookingEventType.created]: 'Booking made',
  [BookingEventType.cancelled]: 'Booking cancelled',
  [BookingEventType.failed]: 'Booking refused',
  [BookingEventType.eventUpdated]: 'Event changed by an organiser',
};

/**
 * One log line per booking event, at info, its facts as fields: `notification`
 * (the event type), `message_id` (the envelope's id), `booking_id`, `event_id`
 * (the event booked), `user_id`, `occurred_at`, `correlationId`, for a booking
 * given from the waitlist its `source` ("waitlist"), for a refusal its
 * `reason`, and for an organiser's change (`event.updated`, when
 * NOTIFICATION_EVENT_TYPES lists it) `actor` and the fields `changed`. Written
 * while the event is recorded, before the commit: it cannot fail on its own,
 * so its delivery is recorded as delivered at once.
 */
@Injectable()
export class LogChannel {
  /** A batch's lines go out in one write. */
  private readonly lines: HeldLines;
  private readonly logger: Logger;

  constructor(@Inject(LOGGER) logger: Logger) {
    this.lines = holdLines(logger);
    // The fields below are the only ones written, none of them a credential: no need for the service
    // logger's redaction, which looks into every field of every line and is most of a line's cost.
    this.logger = this.lines.logger.child({ context: 'Notification' }, { redact: [] });
  }

  /** Writes one line per event; they have left the process when this returns (the service logs synchronously). */
  write(events: readonly BookingEvent[]): void {
    for (const event of events) {
      const { data } = event;
      this.logger.info(
        {
          notification: event.type,
          message_id: event.id,
          booking_id: 'booking_id' in data ? data.booking_id : undefined,
          event_id: data.event_id,
          user_id: 'user_id' in data ? data.user_id : undefined,
          source: 'source' in data ? data.source : undefined,
          reason: 'reason' in data ? data.reason : undefined,
          actor: 'actor' in data ? data.actor : undefined,
          changed: 'changes' in data ? Object.keys(data.changes) : undefined,
          occurred_at: event.occurred_at,
          correlationId: event.correlation_id,
        },
        MESSAGES[event.type],
      );
    }
    this.lines.flush();
  }
}
