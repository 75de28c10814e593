import { z } from 'zod';

/**
 * Booking events: what happened to bookings, and to the events booked (an
 * organiser's change), published once each on the deployment's JetStream
 * stream (see `namesFor`). The stream captures exactly these subjects, never
 * the request/reply subjects (`booking.reserve`, `event.update`, ...).
 */
export const BookingEventType = {
  created: 'booking.created',
  cancelled: 'booking.cancelled',
  failed: 'booking.failed',
  /** An organiser changed an event's details, window or capacity, or closed its sales. */
  eventUpdated: 'event.updated',
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

export const bookingFailureReasonSchema = z.enum([
  'event_not_found',
  'already_booked',
  'sold_out',
  'sales_not_open',
  'sales_closed',
]);
export type BookingFailureReason = z.infer<typeof bookingFailureReasonSchema>;

/** How a booking was made; absent for a reservation, `waitlist` for a seat given to the first in line. */
export const bookingSourceSchema = z.enum(['waitlist']);

export type BookingSource = z.infer<typeof bookingSourceSchema>;

export const bookingCreatedDataSchema = z.object({
  ...bookingFields,
  created_at: z.string(),
  source: bookingSourceSchema.optional(),
});
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

const timeOrNull = z.iso.datetime({ offset: true }).nullable();
const change = <T extends z.ZodType>(value: T) => z.object({ from: value, to: value });

export const eventUpdatedDataSchema = z.object({
  event_id: z.number().int(),
  /** A change of fields (`PATCH /api/events/:id`), or closing the sales at once. */
  action: z.enum(['change', 'close_sales']),
  /** Who did it: the subject of the admin token that asked. */
  actor: z.string(),
  /** Each field whose value changed, before and after; a field set to the value it had is left out. */
  changes: z.object({
    name: change(z.string()).optional(),
    total_seats: change(z.number().int()).optional(),
    starts_at: change(timeOrNull).optional(),
    venue: change(z.string().nullable()).optional(),
    description: change(z.string().nullable()).optional(),
    sales_open_at: change(timeOrNull).optional(),
    sales_close_at: change(timeOrNull).optional(),
  }),
  /** Seats booked when the change was made (under the event's lock). */
  booked_seats: z.number().int(),
});
export type EventUpdatedData = z.infer<typeof eventUpdatedDataSchema>;

/**
 * The booking event contract: every producer writes it, every consumer checks
 * an envelope read from the stream against it (the wire is not trusted blindly).
 */
export const bookingEventSchema = z.discriminatedUnion('type', [
  z.object({ ...envelopeFields, type: z.literal(BookingEventType.created), data: bookingCreatedDataSchema }),
  z.object({ ...envelopeFields, type: z.literal(BookingEventType.cancelled), data: bookingCancelledDataSchema }),
  z.object({ ...envelopeFields, type: z.literal(BookingEventType.failed), data: bookingFailedDataSchema }),
  z.object({ ...envelopeFields, type: z.literal(BookingEventType.eventUpdated), data: eventUpdatedDataSchema }),
]);
export type BookingEvent = z.infer<typeof bookingEventSchema>;

const utf8 = new TextDecoder();

/** Parses and checks one message body; throws on anything that is not a booking event. */
export function parseBookingEvent(bytes: Uint8Array | string): BookingEvent {
  const text = typeof bytes === 'string' ? bytes : utf8.decode(bytes);
  return bookingEventSchema.parse(JSON.parse(text));
}
