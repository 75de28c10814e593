import { useEffect, useState } from 'preact/hooks';
import { api, LIVE_FEED_PATH, type SeatUpdate } from './api.js';
import { openLastingStream } from './lasting-event-source.js';

/** The longest pause before the page opens a new live stream after the browser gave one up. */
const LAST_RETRY_MS = 30_000;

export type LiveState = 'connecting' | 'live' | 'offline';

/** One stream per page, shared by every component that wants live seat counts. */
let stream: { close(): void } | undefined;
let state: LiveState = 'connecting';
let everConnected = false;
const seats = new Map<number, SeatUpdate>();
const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) listener();
}

function connect(): void {
  if (stream) return;
  stream = openLastingStream(
    LIVE_FEED_PATH,
    {
      onOpen: () => {
        // After a reconnect, changes made while the stream was down were missed: read every figure once.
        if (everConnected)
          void api.listEvents().then(
            (events) => events.forEach(recordSeats),
            () => undefined,
          );
        everConnected = true;
        state = 'live';
        notify();
      },
      events: {
        seats: (data) => {
          const update = JSON.parse(data) as SeatUpdate;
          seats.set(update.event_id, update);
          notify();
        },
      },
      // While the stream is down the numbers may be stale: "offline" until a new one is opened.
      onError: (reopening) => {
        state = reopening ? 'offline' : 'connecting';
        notify();
      },
    },
    LAST_RETRY_MS,
  );
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
