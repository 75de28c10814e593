import type { BookingEvent } from './booking-events.js';
import type { ServiceError } from './errors.js';

/** A booking as the API returns it. */
export interface BookingView {
  id: number;
  event_id: number;
  user_id: string;
  created_at: string;
}

/**
 * An event as the API returns it, with the seats still free. Its details are null when not set: an
 * event without `sales_open_at` is on sale from its creation, one without `sales_close_at` until it
 * starts (or for good, without `starts_at`).
 */
export interface EventView {
  id: number;
  name: string;
  total_seats: number;
  booked_seats: number;
  available_seats: number;
  starts_at: string | null;
  venue: string | null;
  description: string | null;
  sales_open_at: string | null;
  sales_close_at: string | null;
  created_at: string;
  updated_at: string;
}

/** A user's place on a sold-out event's waitlist; position 1 gets the next seat freed. */
export interface WaitlistEntryView {
  event_id: number;
  user_id: string;
  position: number;
  joined_at: string;
}

/** What the live feed (`GET /api/events/live`) pushes when an event's seats change. */
export interface SeatUpdate {
  event_id: number;
  available_seats: number;
  total_seats: number;
}

/**
 * Every booking-service reply: expected outcomes (sold out, duplicate, not found)
 * are values, not exceptions, so they cost nothing to produce and cannot be
 * confused with a crash.
 */
export type ServiceReply<T> = { ok: true; data: T } | { ok: false; error: ServiceError };

export const ok = <T>(data: T): ServiceReply<T> => ({ ok: true, data });
export const fail = (error: ServiceError): ServiceReply<never> => ({ ok: false, error });

/** The most rows a list answers with (`GET /api/bookings`, `GET /api/events`): the oldest, by id. */
export const MAX_LIST_SIZE = 1_000;

/** The role a token needs to create and change events and to read anyone's bookings. */
export const ADMIN_ROLE = 'admin';

/** Who a verified bearer token names, as `GET /api/me` returns it. */
export interface IdentityView {
  sub: string;
  roles: string[];
}

/** A cancelled booking as `DELETE /api/bookings/:id` returns it. */
export interface CancelledBookingView extends BookingView {
  cancelled_at: string;
}

/** One booking's audit trail: its events, oldest first, from the booking service's outbox. */
export interface BookingHistoryView {
  booking_id: number;
  status: 'active' | 'cancelled';
  events: BookingEvent[];
}
