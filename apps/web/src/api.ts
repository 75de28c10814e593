/** The gateway's JSON API, as the pages use it. Every failure becomes an ApiError with a sentence for people. */

import type {
  BookingHistoryView,
  BookingView,
  CancelledBookingView,
  CreateEventCommand,
  EventChanges,
  EventView,
  IdentityView,
  SeatUpdate,
  WaitlistEntryView,
} from '@booking/shared';
import { ADMISSION_TOKEN_HEADER } from '@booking/shared';

export type {
  BookingHistoryView,
  BookingView,
  CancelledBookingView,
  CreateEventCommand,
  EventChanges,
  EventView,
  IdentityView,
  SeatUpdate,
  WaitlistEntryView,
};

/** `GET /api/events` filters; each narrows the list (upcoming: not started; on_sale: window open and a seat left). */
export interface EventFilter {
  upcoming?: boolean;
  on_sale?: boolean;
  sold_out?: boolean;
}

/** A page of a paged list, and the cursor of the next one when there is one. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

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
  if (status === 409 && /^Sales for event \d+ open at/.test(serverMessage))
    return 'Sales for this event have not opened yet.';
  if (status === 409 && /^Sales for event \d+ have closed/.test(serverMessage))
    return 'Sales for this event have closed.';
  if (status === 409 && /^Event \d+ has seats available/.test(serverMessage))
    return 'A seat is free again: book it instead of joining the waitlist.';
  // The organiser's and the waitlist's other conflicts say what is wrong in words already ("… seats booked;
  // total_seats cannot be set below that", "… already on the waitlist …, at position 2").
  if (status === 409) return `${serverMessage.replace(/\.$/, '')}.`;
  if (status === 429) return 'Too many requests right now. Please wait a few seconds and try again.';
  if (status === 503 || status === 502 || status === 504) {
    return 'The booking system is busy or briefly unavailable. Please try again in a moment.';
  }
  if (status === 401) return 'Sign-in needed: your token is missing, expired or not accepted.';
  if (status === 403 && /waiting room/i.test(serverMessage))
    return 'This sale goes through a waiting room: join the queue first.';
  if (status === 403) return 'Your sign-in does not allow this.';
  if (status === 404 && /^Cannot (DELETE|GET|PATCH|POST)/.test(serverMessage)) {
    return 'This server does not offer that yet.';
  }
  if (status === 404 && /^Event /.test(serverMessage)) return 'This event does not exist (any more).';
  if (status === 404 && /^Booking /.test(serverMessage)) return 'This booking does not exist (any more).';
  if (status === 404 && /^User .+ is not on the waitlist for event \d+$/s.test(serverMessage))
    return 'You are not in line for this event.';
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

interface RequestOptions extends Credentials {
  body?: unknown;
  /** What to ask for; JSON unless said. */
  accept?: string;
  headers?: Record<string, string>;
}

export async function send<T>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<{ body: T; headers: Headers }> {
  const { response, text } = await exchange(method, path, options);
  return { body: (text ? safeJson(text) : undefined) as T, headers: response.headers };
}

/** The request and its answer's text; any failure as an ApiError. */
async function exchange(
  method: string,
  path: string,
  options: RequestOptions,
): Promise<{ response: Response; text: string }> {
  const headers: Record<string, string> = { accept: options.accept ?? 'application/json', ...options.headers };
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
  let text: string;
  try {
    text = await response.text();
  } catch {
    throw new ApiError('The answer was cut off. Check your connection and try again.', 0, 'network error');
  }
  if (!response.ok) {
    const serverMessage = messageOf(text ? safeJson(text) : undefined) ?? response.statusText;
    throw new ApiError(describeFailure(response.status, serverMessage), response.status, serverMessage);
  }
  return { response, text };
}

const call = async <T>(method: string, path: string, options: RequestOptions = {}): Promise<T> =>
  (await send<T>(method, path, options)).body;

const waitlistPath = (eventId: number, userId?: string) =>
  `/api/events/${eventId}/waitlist${userId === undefined ? '' : `/${encodeURIComponent(userId)}`}`;

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
  /** Every event, up to the API's MAX_LIST_SIZE (the list without parameters). */
  listEvents: () => call<EventView[]>('GET', '/api/events'),
  /** A page of `limit` events by id, after `cursor` (a `Next-Cursor` from the page before), those that pass `filter`. */
  listEventsPage: async (limit: number, filter: EventFilter = {}, cursor?: string): Promise<Page<EventView>> => {
    const query = new URLSearchParams({ limit: String(limit) });
    for (const [name, value] of Object.entries(filter)) if (value !== undefined) query.set(name, String(value));
    if (cursor) query.set('cursor', cursor);
    const { body, headers } = await send<EventView[]>('GET', `/api/events?${query}`);
    return { items: body, nextCursor: headers.get('next-cursor') ?? undefined };
  },
  getEvent: (id: number) => call<EventView>('GET', `/api/events/${id}`),
  createEvent: (input: CreateEventCommand, adminToken: string) =>
    call<EventView>('POST', '/api/events', { body: input, token: adminToken }),
  /** Changes the fields given (null clears a detail); a capacity below the seats booked is a 409. */
  updateEvent: (id: number, changes: EventChanges, adminToken: string) =>
    call<EventView>('PATCH', `/api/events/${id}`, { body: changes, token: adminToken }),
  closeSales: (id: number, adminToken: string) =>
    call<EventView>('POST', `/api/events/${id}/close-sales`, { token: adminToken }),
  /** Every booking of the event as a CSV file (the route needs the admin token in a header, so not a plain link). */
  bookingsCsv: async (id: number, adminToken: string): Promise<Blob> => {
    const { response, text } = await exchange('GET', `/api/events/${id}/bookings`, {
      token: adminToken,
      accept: 'text/csv',
    });
    return new Blob([text], { type: response.headers.get('content-type') ?? 'text/csv' });
  },
  /**
   * The booking, and the key that lets this browser read and cancel it without a token. An event with a
   * waiting room takes the admission token its queue gave.
   */
  reserve: async (eventId: number, userId: string, token?: string, admissionToken?: string) => {
    const { body, headers } = await send<BookingView>('POST', '/api/bookings/reserve', {
      body: { event_id: eventId, user_id: userId },
      token,
      headers: admissionToken === undefined ? undefined : { [ADMISSION_TOKEN_HEADER]: admissionToken },
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
  joinWaitlist: (eventId: number, userId: string, token?: string) =>
    call<WaitlistEntryView>('POST', waitlistPath(eventId), { body: { user_id: userId }, token }),
  /** The user's place in line; a 404 when not in line (never joined, left, or given a seat). */
  waitlistPlace: (eventId: number, userId: string, token?: string) =>
    call<WaitlistEntryView>('GET', waitlistPath(eventId, userId), { token }),
  leaveWaitlist: (eventId: number, userId: string, token?: string) =>
    call<void>('DELETE', waitlistPath(eventId, userId), { token }),
  /** Whom a token names (and whether it is valid at all: 401 otherwise). */
  whoIs: (token: string) => call<IdentityView>('GET', '/api/me', { token }),
};

/** The path of the live seats feed (server-sent events). */
export const LIVE_FEED_PATH = '/api/events/live';
