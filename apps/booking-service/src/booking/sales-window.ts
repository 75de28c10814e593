/**
 * An event's sales window, free of SQL: sales are open from `sales_open_at` until the earlier of
 * `sales_close_at` and the event's start (never after it has started); a bound that is not set bounds
 * nothing, so an event with neither is on sale. PostgreSQL holds the same rule (`event_sales_state`,
 * migration 0010) and enforces it on every booking inserted, as it does capacity; what a statement saw
 * there is what decides an answer. This copy decides only guesses made without reading (see
 * `Reservations`), on this machine's clock.
 */
export type SalesState = 'open' | 'not_open' | 'closed';

/** The window's bounds, epoch milliseconds; null where unbounded. */
export interface SalesWindow {
  opensAt: number | null;
  /** The earlier of `sales_close_at` and `starts_at`. */
  closesAt: number | null;
}

/** An event's window and its state at some time (a statement's, or a guess's). */
export interface EventSales {
  state: SalesState;
  window: SalesWindow;
}

export function salesStateAt(window: SalesWindow, at: number): SalesState {
  if (window.closesAt !== null && at >= window.closesAt) return 'closed';
  if (window.opensAt !== null && at < window.opensAt) return 'not_open';
  return 'open';
}

/** The sales of an event without a window, as facts that name no window imply. */
export const ALWAYS_OPEN: EventSales = { state: 'open', window: { opensAt: null, closesAt: null } };
