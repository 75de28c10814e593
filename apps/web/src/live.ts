import { useEffect, useState } from 'preact/hooks';
import { api, LIVE_FEED_PATH, type SeatUpdate } from './api.js';

export type LiveState = 'connecting' | 'live' | 'offline';

/** One EventSource per page, shared by every component that wants live seat counts. */
let source: EventSource | undefined;
let state: LiveState = 'connecting';
let everConnected = false;
/** Wait before opening a new stream after the browser gave one up; doubles up to a limit, reset when live. */
const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 30_000;
let retryMs = FIRST_RETRY_MS;
const seats = new Map<number, SeatUpdate>();
const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) listener();
}

function connect(): void {
  if (source) return;
  source = new EventSource(LIVE_FEED_PATH);
  source.addEventListener('open', () => {
    // After a reconnect, changes made while the stream was down were missed: read every figure once.
    if (everConnected)
      void api.listEvents().then(
        (events) => events.forEach(recordSeats),
        () => undefined,
      );
    everConnected = true;
    retryMs = FIRST_RETRY_MS;
    state = 'live';
    notify();
  });
  source.addEventListener('seats', (message) => {
    const update = JSON.parse((message as MessageEvent<string>).data) as SeatUpdate;
    seats.set(update.event_id, update);
    notify();
  });
  // EventSource reconnects by itself after a dropped connection; show that the numbers may be stale
  // meanwhile. An answer that is not a stream (a 502 or 503 while the gateway restarts) makes the
  // browser give up for good, so the page opens a new one later.
  source.addEventListener('error', () => {
    if (source?.readyState === EventSource.CLOSED) {
      source = undefined;
      state = 'offline';
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
    } else {
      state = 'connecting';
    }
    notify();
  });
}

/**
 * Seats left pushed by the server since the page opened, by event id, and the
 * state of the connection. Pages overlay these on what they fetched.
 */
export function useLiveSeats(): { seats: ReadonlyMap<number, SeatUpdate>; state: LiveState } {
  const [, setVersion] = useState(0);
  useEffect(() => {
    connect();
    const listener = () => setVersion((version) => version + 1);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return { seats, state };
}

/** Records a figure the page fetched itself (e.g. after its own booking), so the newest known figure wins. */
export function recordSeats(event: { id: number; available_seats: number; total_seats: number }): void {
  seats.set(event.id, { event_id: event.id, available_seats: event.available_seats, total_seats: event.total_seats });
  notify();
}

/** Seats left of an event: the live figure when one arrived, else the fetched one. */
export function seatsLeft(
  event: { id: number; available_seats: number },
  live: ReadonlyMap<number, SeatUpdate>,
): number {
  return live.get(event.id)?.available_seats ?? event.available_seats;
}
