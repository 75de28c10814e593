/** The waiting room of an event, as the queue page uses it: joining, following the place live, booking when admitted. */

import type { QueueStatusView, QueueTicketView, WaitingRoomView } from '@booking/shared';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, send } from './api.js';

export type { QueueStatusView, QueueTicketView, WaitingRoomView };

/** The states after which the stream says nothing more. */
const FINAL = new Set<QueueStatusView['state']>(['admitted', 'used', 'expired', 'closed', 'off']);

export const waitingRoomApi = {
  /** The event's room, or undefined when it has none. */
  room: async (eventId: number): Promise<WaitingRoomView | undefined> => {
    try {
      return (await send<WaitingRoomView>('GET', `/api/events/${eventId}/waiting-room`)).body;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  },
  join: async (eventId: number, userId: string, token?: string): Promise<QueueTicketView> =>
    (await send<QueueTicketView>('POST', `/api/events/${eventId}/queue`, { body: { user_id: userId }, token })).body,
};

/** The ticket of this browser's place in an event's queue, per user, kept across reloads of the page. */
const ticketKey = (eventId: number, userId: string) => `booking.queue.${eventId}.${userId}`;
export const storedTicket = (eventId: number, userId: string): string | undefined =>
  sessionStorage.getItem(ticketKey(eventId, userId)) ?? undefined;
export const storeTicket = (eventId: number, userId: string, ticket: string): void =>
  sessionStorage.setItem(ticketKey(eventId, userId), ticket);

const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 15_000;

/**
 * The place a ticket names, live: the server pushes it (server-sent events) until the turn comes or the
 * queue closes; the stream is then closed here, since the browser would otherwise open it again. A stream
 * the browser gave up on (a 503 while a gateway restarts) is opened anew after a growing pause.
 */
export function useQueueStatus(
  eventId: number,
  ticket: string | undefined,
): { status?: QueueStatusView; connected: boolean } {
  const [status, setStatus] = useState<QueueStatusView>();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (!ticket) return undefined;
    let source: EventSource | undefined;
    let retryMs = FIRST_RETRY_MS;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const open = () => {
      source = new EventSource(`/api/events/${eventId}/queue/stream?ticket=${encodeURIComponent(ticket)}`);
      source.addEventListener('open', () => {
        retryMs = FIRST_RETRY_MS;
        setConnected(true);
      });
      source.addEventListener('queue', (message) => {
        const next = JSON.parse((message as MessageEvent<string>).data) as QueueStatusView;
        setStatus(next);
        if (FINAL.has(next.state)) {
          done = true;
          source?.close();
          setConnected(false);
        }
      });
      source.addEventListener('error', () => {
        setConnected(false);
        if (done || source?.readyState !== EventSource.CLOSED) return;
        retry = setTimeout(open, retryMs);
        retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
      });
    };
    open();
    return () => {
      done = true;
      clearTimeout(retry);
      source?.close();
    };
  }, [eventId, ticket]);
  return { status, connected };
}

/** "about 2 min 5 s", for an estimate in seconds. */
export function waitInWords(seconds: number | null): string {
  if (seconds === null) return '';
  if (seconds <= 0) return 'any moment now';
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return `about ${minutes > 0 ? `${minutes} min ` : ''}${rest > 0 || minutes === 0 ? `${rest} s` : ''}`.trim();
}
