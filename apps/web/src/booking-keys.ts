import { api, ApiError, type BookingView } from './api.js';

/**
 * The bookings made in this browser, each with the access key the server
 * returned with it: without a token, that key is the only proof that a booking
 * is yours, so "My bookings" shows exactly these. Kept in localStorage.
 */
const KEY = 'booking.keys';

type Keys = Record<string, string>;

function read(): Keys {
  try {
    const stored: unknown = JSON.parse(localStorage.getItem(KEY) ?? '{}');
    return typeof stored === 'object' && stored !== null ? (stored as Keys) : {};
  } catch {
    return {};
  }
}

const write = (keys: Keys) => localStorage.setItem(KEY, JSON.stringify(keys));

export function rememberBooking(bookingId: number, accessKey: string): void {
  write({ ...read(), [bookingId]: accessKey });
}

export function forgetBooking(bookingId: number): void {
  const keys = read();
  delete keys[bookingId];
  write(keys);
}

export const accessKeyOf = (bookingId: number): string | undefined => read()[bookingId];

/** The bookings made here that still exist, oldest first; one cancelled elsewhere (404) is forgotten. */
export async function bookingsMadeHere(): Promise<BookingView[]> {
  const found = await Promise.all(
    Object.entries(read()).map(([id, accessKey]) =>
      api.getBooking(Number(id), { accessKey }).catch((error: unknown) => {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
        forgetBooking(Number(id));
        return undefined;
      }),
    ),
  );
  return found.filter((booking) => booking !== undefined).sort((a, b) => a.id - b.id);
}
