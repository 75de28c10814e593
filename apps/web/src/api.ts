/** The gateway's JSON API, as the pages use it. Every failure becomes an ApiError with a sentence for people. */

import type {
  BookingHistoryView,
  BookingView,
  CancelledBookingView,
  EventView,
  IdentityView,
  SeatUpdate,
} from '@booking/shared';

export type { BookingHistoryView, BookingView, CancelledBookingView, EventView, IdentityView, SeatUpdate };

export class ApiError extends Error {
  constructor(
    /** What to show: plain words, no codes. */
    readonly userMessage: string,
    readonly status: number,
    /** The server's own message, for decisions such as "cancel is not available". */
    readonly serverMessage: string,
  ) {
    super(userMessage);
  }
}

/** Turns an HTTP error into words a person understands. */
export function describeFailure(status: number, serverMessage: string): string {
  if (status === 409 && /already booked/i.test(serverMessage)) return 'You have already booked a seat for this event.';
  if (status === 409 && /no available seats/i.test(serverMessage)) return 'Sorry, this event is sold out.';
  if (status === 429) return 'Too many requests right now. Please wait a few seconds and try again.';
  if (status === 503 || status === 502 || status === 504) {
    return 'The booking system is busy or briefly unavailable. Please try again in a moment.';
  }
  if (status === 401) return 'Sign-in needed: your token is missing, expired or not accepted.';
  if (status === 403 && /waiting room/i.test(serverMessage))
    return 'This sale goes through a waiting room: join the queue first.';
  if (status === 403) return 'Your sign-in does not allow this.';
  if (status === 404 && /^Cannot (DELETE|GET|POST)/.test(serverMessage)) {
    return 'This server does not offer that yet.';
  }
  if (status === 404 && /^Event /.test(serverMessage)) return 'This event does not exist (any more).';
  if (status === 404 && /^Booking /.test(serverMessage)) return 'This booking does not exist (any more).';
  if (status === 400) return `Please check what you entered: ${serverMessage}.`;
  return 'Something went wrong on our side. Please try again.';
}

/** How a request proves who sends it: a bearer token, or the access key of the one booking it is about. */
export interface Credentials {
  token?: string;
  accessKey?: string;
}

/** The header that carries a booking's access key: returned with the booking, sent to read or cancel it. */
const ACCESS_KEY_HEADER = 'booking-access-key';

export async function send<T>(
  method: string,
  path: string,
  options: Credentials & { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ body: T; headers: Headers }> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.accessKey) headers[ACCESS_KEY_HEADER] = options.accessKey;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError('Cannot reach the server. Check your connection and try again.', 0, 'network error');
  }
  const text = await response.text();
  const body: unknown = text ? safeJson(text) : undefined;
  if (!response.ok) {
    const serverMessage = messageOf(body) ?? response.statusText;
    throw new ApiError(describeFailure(response.status, serverMessage), response.status, serverMessage);
  }
  return { body: body as T, headers: response.headers };
}

const call = async <T>(method: string, path: string, options: Credentials & { body?: unknown } = {}): Promise<T> =>
  (await send<T>(method, path, options)).body;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function messageOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('message' in body)) return undefined;
  const { message } = body as { message: unknown };
  return Array.isArray(message) ? message.join('; ') : String(message);
}

export const api = {
  listEvents: () => call<EventView[]>('GET', '/api/events'),
  getEvent: (id: number) => call<EventView>('GET', `/api/events/${id}`),
  createEvent: (input: { name: string; total_seats: number }, adminToken: string) =>
    call<EventView>('POST', '/api/events', { body: input, token: adminToken }),
  /** The booking, and the key that lets this browser read and cancel it without a token. */
  reserve: async (eventId: number, userId: string, token?: string) => {
    const { body, headers } = await send<BookingView>('POST', '/api/bookings/reserve', {
      body: { event_id: eventId, user_id: userId },
      token,
    });
    return { booking: body, accessKey: headers.get(ACCESS_KEY_HEADER) ?? undefined };
  },
  getBooking: (bookingId: number, credentials: Credentials) =>
    call<BookingView>('GET', `/api/bookings/${bookingId}`, credentials),
  /** Whether the booking is active or cancelled, and what happened to it; a booking's key opens it too once cancelled. */
  bookingHistory: (bookingId: number, credentials: Credentials) =>
    call<BookingHistoryView>('GET', `/api/bookings/${bookingId}/history`, credentials),
  /**
   * Active bookings, at most 1,000, oldest first: a user token's own (`user_id` defaults to its subject), any for an
   * admin token; of one event and one user when given.
   */
  listBookings: (token: string, filter: { event_id?: number; user_id?: string } = {}) => {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(filter)) if (value !== undefined) query.set(name, String(value));
    return call<BookingView[]>('GET', `/api/bookings${query.size > 0 ? `?${query}` : ''}`, { token });
  },
  cancel: (bookingId: number, credentials: Credentials) =>
    call<CancelledBookingView>('DELETE', `/api/bookings/${bookingId}`, credentials),
  /** Whom a token names (and whether it is valid at all: 401 otherwise). */
  whoIs: (token: string) => call<IdentityView>('GET', '/api/me', { token }),
};

/** The path of the live seats feed (server-sent events). */
export const LIVE_FEED_PATH = '/api/events/live';
