import type { BookingEvent } from '@booking/shared';
import { api, ApiError, type BookingView, type CancelledBookingView } from './api.js';

/**
 * The bookings this browser holds, kept in localStorage: each one made here
 * with the access key the server returned with it (without a token, that key
 * is the only proof that a booking is yours, so "My bookings" shows exactly
 * these), and each one cancelled here, kept and marked cancelled until removed.
 */
const KEY = 'booking.keys';

export interface HeldBooking {
  booking: BookingView;
  /** The Booking-Access-Key its reservation returned: only bookings made in this browser have one. */
  accessKey?: string;
  /** When it was cancelled, once this browser knows. */
  cancelledAt?: string;
}

type Store = Record<string, HeldBooking>;

const isHeld = (value: unknown): value is HeldBooking =>
  typeof value === 'object' && value !== null && typeof (value as HeldBooking).booking?.id === 'number';

function read(): Store {
  try {
    const stored: unknown = JSON.parse(localStorage.getItem(KEY) ?? '{}');
    if (typeof stored !== 'object' || stored === null) return {};
    return Object.fromEntries(Object.entries(stored).filter(([, held]) => isHeld(held)));
  } catch {
    return {};
  }
}

function update(change: (store: Store) => void): void {
  const store = read();
  change(store);
  localStorage.setItem(KEY, JSON.stringify(store));
}

export function rememberBooking(booking: BookingView, accessKey: string): void {
  update((store) => void (store[booking.id] = { booking, accessKey }));
}

export function rememberCancelled({ cancelled_at, ...booking }: CancelledBookingView): void {
  update((store) => void (store[booking.id] = { ...store[booking.id], booking, cancelledAt: cancelled_at }));
}

export function forgetBooking(bookingId: number): void {
  update((store) => void delete store[bookingId]);
}

export const accessKeyOf = (bookingId: number): string | undefined => read()[bookingId]?.accessKey;

/** Every booking held here, oldest first. */
export const heldBookings = (): HeldBooking[] => Object.values(read()).sort((a, b) => a.booking.id - b.booking.id);

/**
 * The bookings made here that `which` selects, oldest first, each active one
 * checked with the server first: one cancelled elsewhere is marked cancelled
 * (its key still opens its history), one the server no longer knows is forgotten.
 */
export async function bookingsMadeHere(which: (booking: BookingView) => boolean = () => true): Promise<HeldBooking[]> {
  const selected = () => heldBookings().filter((held) => held.accessKey !== undefined && which(held.booking));
  await Promise.all(
    selected()
      .filter((held) => held.cancelledAt === undefined)
      .map((held) => checkWithServer(held.booking.id, held.accessKey!)),
  );
  return selected();
}

async function checkWithServer(bookingId: number, accessKey: string): Promise<void> {
  try {
    await api.getBooking(bookingId, { accessKey });
    return;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  const history = await api.bookingHistory(bookingId, { accessKey }).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  });
  const cancelled = history?.events.find(
    (event): event is Extract<BookingEvent, { type: 'booking.cancelled' }> => event.type === 'booking.cancelled',
  );
  const held = read()[bookingId];
  if (cancelled && held) rememberCancelled({ ...held.booking, cancelled_at: cancelled.data.cancelled_at });
  else forgetBooking(bookingId);
}
