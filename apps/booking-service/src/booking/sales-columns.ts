import { sql, type SQL } from 'drizzle-orm';
import type { EventSales, SalesState } from './sales-window.js';

/** The sales columns of an events row, as `salesColumns` selects them. */
export interface SalesColumns extends Record<string, unknown> {
  /** Null only for an event that does not exist. */
  sales_state: SalesState | null;
  opens_at_ms: number | null;
  closes_at_ms: number | null;
}

/**
 * An events row's sales at the statement's time (`now()`: in a transaction, its start, as the seat-counter
 * trigger sees it), by the database's rule (`event_sales_state`), with the window's bounds.
 */
export const salesColumns = (event: SQL) => sql`
  event_sales_state(${event}.sales_open_at, ${event}.sales_close_at, ${event}.starts_at, now()) AS sales_state,
  (extract(epoch FROM ${event}.sales_open_at) * 1000)::float8 AS opens_at_ms,
  (extract(epoch FROM LEAST(${event}.sales_close_at, ${event}.starts_at)) * 1000)::float8 AS closes_at_ms`;

export const toEventSales = (row: SalesColumns): EventSales => ({
  state: row.sales_state ?? 'open',
  window: { opensAt: row.opens_at_ms, closesAt: row.closes_at_ms },
});
