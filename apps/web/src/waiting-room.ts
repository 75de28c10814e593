/** The waiting room of an event, as the queue page uses it: joining, following the place live, booking when admitted. */

import type { QueueStatusView, QueueTicketView, WaitingRoomView } from '@booking/shared';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, send } from './api.js';
import { openLastingStream } from './lasting-event-source.js';

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

/** The longest pause before the page opens a new queue stream after the browser gave one up. */
const LAST_RETRY_MS = 15_000;

/**
 * The place a ticket names, live: the server pushes it (server-sent events) until the turn comes or the
 * queue closes; the stream is then closed here, since the browser would otherwise open it again.
 */
export function useQueueStatus(
  eventId: number,
  ticket: string | undefined,
): { status?: QueueStatusView; connected: boolean } {
  const [status, setStatus] = useState<QueueStatusView>();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (!ticket) return undefined;
    const stream = openLastingStream(
      `/api/events/${eventId}/queue/stream?ticket=${encodeURIComponent(ticket)}`,
      {
        onOpen: () => setConnected(true),
        events: {
          queue: (data) => {
            const next = JSON.parse(data) as QueueStatusView;
            setStatus(next);
            if (FINAL.has(next.state)) {
              stream.close();
              setConnected(false);
            }
          },
        },
        onError: () => setConnected(false),
      },
      LAST_RETRY_MS,
    );
    return () => stream.close();
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
