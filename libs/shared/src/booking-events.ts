import { z } from 'zod';

/**
 * Booking events: what happened to bookings, published once each on the
 * deployment's JetStream stream (see `namesFor`). The stream captures exactly
 * these subjects, never the request/reply subjects (`booking.reserve`, ...).
 */
export const BookingEventType = {
  created: 'booking.created',
  cancelled: 'booking.cancelled',
  failed: 'booking.failed',
} as const;
export type BookingEventType = (typeof BookingEventType)[keyof typeof BookingEventType];

/** The subject of each event is its type (in a namespace, prefixed with it: see `namesFor`). */
export const BOOKING_EVENT_SUBJECTS: readonly BookingEventType[] = Object.values(BookingEventType);

/** NATS header carrying the request id from the gateway; stored as the event's correlation id. */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * NATS header carrying the time (Unix epoch milliseconds) at which the gateway
 * stops waiting for the reply. The booking service starts no command whose
 * writes could commit after it, so a request the gateway gave up on is never
 * carried out later. Gateway, booking service and PostgreSQL must keep their
 * clocks in sync (NTP); a skew shifts the margin by as much.
 */
export const DEADLINE_HEADER = 'x-deadline';

export interface BookingCreatedData {
  booking_id: number;
  event_id: number;
  user_id: string;
  created_at: string;
}

export interface BookingCancelledData {
  booking_id: number;
  event_id: number;
  user_id: string;
  cancelled_at: string;
}

export type BookingFailureReason = 'event_not_found' | 'already_booked' | 'sold_out';

export interface BookingFailedData {
  event_id: number;
  user_id: string;
  reason: BookingFailureReason;
  message: string;
}

interface EnvelopeOf<T extends BookingEventType, D> {
  /** Unique per event (the outbox row's id); also the JetStream message id, so a re-send is dropped. */
  id: string;
  type: T;
  occurred_at: string;
  correlation_id: string;
  data: D;
}

export type BookingEvent =
  | EnvelopeOf<typeof BookingEventType.created, BookingCreatedData>
  | EnvelopeOf<typeof BookingEventType.cancelled, BookingCancelledData>
  | EnvelopeOf<typeof BookingEventType.failed, BookingFailedData>;

const envelopeFields = {
  id: z.string().min(1),
  occurred_at: z.iso.datetime({ offset: true }),
  correlation_id: z.string(),
};
const bookingFields = { booking_id: z.number().int(), event_id: z.number().int(), user_id: z.string() };

/** Checks an envelope read from the stream (consumers must not trust the wire blindly). */
export const bookingEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...envelopeFields,
    type: z.literal(BookingEventType.created),
    data: z.object({ ...bookingFields, created_at: z.string() }),
  }),
  z.object({
    ...envelopeFields,
    type: z.literal(BookingEventType.cancelled),
    data: z.object({ ...bookingFields, cancelled_at: z.string() }),
  }),
  z.object({
    ...envelopeFields,
    type: z.literal(BookingEventType.failed),
    data: z.object({
      event_id: z.number().int(),
      user_id: z.string(),
      reason: z.enum(['event_not_found', 'already_booked', 'sold_out']),
      message: z.string(),
    }),
  }),
]);

/** Parses and checks one message body; throws on anything that is not a booking event. */
export function parseBookingEvent(bytes: Uint8Array | string): BookingEvent {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
  return bookingEventSchema.parse(JSON.parse(text)) satisfies BookingEvent;
}
