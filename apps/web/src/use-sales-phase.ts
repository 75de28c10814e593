import { useEffect, useState } from 'preact/hooks';
import { nextChange, salesPhase, type SalesPhase, type SalesTimes } from './sales.js';

/** setTimeout's longest wait; a later change is reached by waiting again. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

/**
 * The event's sales phase now, and the time it was worked out at. The page re-renders every second while a
 * countdown runs, and at the moment sales open, close or the event starts, so that it changes by itself.
 */
export function useSalesPhase(event: SalesTimes): { phase: SalesPhase; now: number } {
  const [now, setNow] = useState(Date.now);
  const phase = salesPhase(event, now);
  const next = nextChange(phase);
  useEffect(() => {
    if (next === undefined) return;
    const wait = phase.phase === 'not-open' ? 1_000 - (now % 1_000) : Math.min(next - now, LONGEST_WAIT_MS);
    const timer = setTimeout(() => setNow(Date.now()), Math.max(wait, 0));
    return () => clearTimeout(timer);
  }, [now, next, phase.phase]);
  // Times changed by the organiser (read again after a live update): worked out anew at once.
  useEffect(() => setNow(Date.now()), [event.starts_at, event.sales_open_at, event.sales_close_at]);
  return { phase, now };
}
