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

const envelopeFields = {
  /** Unique per event (the outbox row's id); also the JetStream message id, so a re-send is dropped. */
  id: z.string().min(1),
  occurred_at: z.iso.datetime({ offset: true }),
  correlation_id: z.string(),
};
const bookingFields = { booking_id: z.number().int(), event_id: z.number().int(), user_id: z.string() };

export const bookingFailureReasonSchema = z.enum(['event_not_found', 'already_booked', 'sold_out']);
export type BookingFailureReason = z.infer<typeof bookingFailureReasonSchema>;

export const bookingCreatedDataSchema = z.object({ ...bookingFields, created_at: z.string() });
export type BookingCreatedData = z.infer<typeof bookingCreatedDataSchema>;

export const bookingCancelledDataSchema = z.object({ ...bookingFields, cancelled_at: z.string() });
export type BookingCancelledData = z.infer<typeof bookingCancelledDataSchema>;

export const bookingFailedDataSchema = z.object({
  event_id: z.number().int(),
  user_id: z.string(),
  reason: bookingFailureReasonSchema,
  message: z.string(),
});
export type BookingFailedData = z.infer<typeof bookingFailedDataSchema>;

/**
 * The booking event contract: every producer writes it, every consumer checks
 * an envelope read from the stream against it (the wire is not trusted blindly).
 */
export const bookingEventSchema = z.discriminatedUnion('type', [
  z.object({ ...envelopeFields, type: z.literal(BookingEventType.created), data: bookingCreatedDataSchema }),
  z.object({ ...envelopeFields, type: z.literal(BookingEventType.cancelled), data: bookingCancelledDataSchema }),
  z.object({ ...envelopeFields, type: z.literal(BookingEventType.failed), data: bookingFailedDataSchema }),
]);
export type BookingEvent = z.infer<typeof bookingEventSchema>;

const utf8 = new TextDecoder();

/** Parses and checks one message body; throws on anything that is not a booking event. */
export function parseBookingEvent(bytes: Uint8Array | string): BookingEvent {
  const text = typeof bytes === 'string' ? bytes : utf8.decode(bytes);
  return bookingEventSchema.parse(JSON.parse(text));
}
