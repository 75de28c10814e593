/** Where an event's sales stand at a given moment, from its times alone (the server still decides each booking). */

export interface SalesTimes {
  starts_at: string | null;
  sales_open_at: string | null;
  sales_close_at: string | null;
}

export type SalesPhase =
  | { phase: 'not-open'; opensAt: number }
  | { phase: 'open'; closesAt?: number }
  | { phase: 'closed'; closedAt: number }
  | { phase: 'started'; startedAt: number };

const time = (iso: string | null): number | undefined => (iso === null ? undefined : Date.parse(iso));

/**
 * An event without `sales_open_at` is on sale from its creation; sales end at `sales_close_at` or when the
 * event starts, whichever comes first. Once the event has started, that is what people are told.
 */
export function salesPhase(event: SalesTimes, now: number): SalesPhase {
  const startsAt = time(event.starts_at);
  const opensAt = time(event.sales_open_at);
  const closeAt = time(event.sales_close_at);
  if (startsAt !== undefined && now >= startsAt) return { phase: 'started', startedAt: startsAt };
  if (closeAt !== undefined && now >= closeAt) return { phase: 'closed', closedAt: closeAt };
  if (opensAt !== undefined && now < opensAt) return { phase: 'not-open', opensAt };
  const ends = [closeAt, startsAt].filter((at): at is number => at !== undefined);
  return { phase: 'open', closesAt: ends.length > 0 ? Math.min(...ends) : undefined };
}

/** When the phase changes next (the page re-renders then), if it ever does. */
export function nextChange(phase: SalesPhase): number | undefined {
  if (phase.phase === 'not-open') return phase.opensAt;
  if (phase.phase === 'open') return phase.closesAt;
  return undefined;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Time left in words, never "0" before the moment: "3 days 4 h", "2 h 05 min", "12 min", and seconds in
 * the last minute ("45 s"). Rounded up, so that it reaches "1 s" just before the moment.
 */
export function formatCountdown(ms: number): string {
  if (ms < MINUTE) return `${Math.max(1, Math.ceil(ms / 1000))} s`;
  if (ms >= 2 * DAY) {
    const hours = Math.ceil(ms / HOUR);
    const days = Math.floor(hours / 24);
    return hours % 24 === 0 ? `${days} days` : `${days} days ${hours % 24} h`;
  }
  const minutes = Math.ceil(ms / MINUTE);
  const hours = Math.floor(minutes / 60);
  if (hours === 0) return `${minutes} min`;
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}
