import { z } from 'zod';
import { userIdSchema } from './schemas.js';

/** The header that carries an admission token on `POST /api/bookings/reserve`. */
export const ADMISSION_TOKEN_HEADER = 'admission-token';

/** The most admissions per second an organiser may set; far above what one booking service holds. */
export const MAX_ADMISSIONS_PER_SECOND = 10_000;
/** The longest a queue may open before sales do: a week. */
export const MAX_JOIN_LEAD_S = 7 * 86_400;

/** `PUT /api/events/:id/waiting-room`: switches an event's waiting room on, or changes its pace. */
export const waitingRoomSettingsSchema = z.strictObject(
  {
    admissions_per_second: z
      .number({ error: 'admissions_per_second must be a number' })
      .int({ error: 'admissions_per_second must be an integer' })
      .min(1, { error: 'admissions_per_second must be at least 1' })
      .max(MAX_ADMISSIONS_PER_SECOND, { error: `admissions_per_second must be at most ${MAX_ADMISSIONS_PER_SECOND}` }),
    join_opens_before_s: z
      .number({ error: 'join_opens_before_s must be a number' })
      .int({ error: 'join_opens_before_s must be an integer' })
      .min(0, { error: 'join_opens_before_s must be at least 0' })
      .max(MAX_JOIN_LEAD_S, { error: `join_opens_before_s must be at most ${MAX_JOIN_LEAD_S}` })
      .default(900),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `Unknown field(s) ${issue.keys.join(', ')}: admissions_per_second and join_opens_before_s may be set`
        : undefined,
  },
);
export type WaitingRoomSettings = z.infer<typeof waitingRoomSettingsSchema>;

/** `POST /api/events/:id/queue`: who joins (a user token may join only as its own sub). */
export const joinQueueSchema = z.object({ user_id: userIdSchema });
export type JoinQueueCommand = z.infer<typeof joinQueueSchema>;

/** A signed queue ticket as sent back by clients (compact JWS). */
const ticketTextSchema = z
  .string({ error: (issue) => (Array.isArray(issue.input) ? 'ticket must be given once' : 'ticket is required') })
  .min(1, { error: 'ticket is required' })
  .max(2048, { error: 'ticket must be at most 2048 characters' });

/** `POST /api/events/:id/queue/admission`. */
export const admissionRequestSchema = z.object({ ticket: ticketTextSchema });
export type AdmissionRequest = z.infer<typeof admissionRequestSchema>;

/** `GET /api/events/:id/queue/stream?ticket=…` (EventSource sends no headers). */
export const queueStreamQuerySchema = z.object({ ticket: ticketTextSchema });

/**
 * A place in an event's queue. `early`: joined before sales opened, where places among the early arrivals
 * are drawn at random (the position can still change until sales open); `waiting`: in arrival order;
 * `admitted`: may book now with `admission_token` until `admission_expires_at`; `used`: booked with it;
 * `expired`: the turn passed unused; `closed`: sold out, the queue is closed; `off`: the waiting room was
 * switched off (book directly).
 */
export type QueueState = 'early' | 'waiting' | 'admitted' | 'used' | 'expired' | 'closed' | 'off';

export interface QueueStatusView {
  event_id: number;
  user_id: string;
  state: QueueState;
  /** 1-based place in the queue; null once the waiting room is gone. */
  position: number | null;
  /** People ahead still waiting for their turn. */
  ahead: number;
  /** Seconds until the turn comes, at the room's pace; 0 when admitted, null when it will not come. */
  estimated_wait_s: number | null;
  sales_open_at: string | null;
  admission_token?: string;
  admission_expires_at?: string;
}

/** `POST /api/events/:id/queue`'s answer: the status, with the ticket that names this place. */
export interface QueueTicketView extends QueueStatusView {
  ticket: string;
}

/** `GET /api/events/:id/waiting-room`. */
export interface WaitingRoomView {
  event_id: number;
  admissions_per_second: number;
  join_opens_before_s: number;
  /** When joining starts; null: joining is open (no sales window). */
  join_opens_at: string | null;
  sales_open_at: string | null;
  state: 'not_open' | 'early' | 'admitting' | 'closed';
  waiting: number;
  admitted: number;
}

export const WaitingRoomMessages = {
  admissionRequired: (eventId: number) =>
    `Event ${eventId} sells through a waiting room: join it with POST /api/events/${eventId}/queue, then reserve ` +
    `with the Admission-Token header it gives when your turn comes`,
  admissionInvalid: (reason: string) => `Admission-Token is not valid: ${reason}`,
  admissionUsed: 'Admission-Token was already used for a reservation (or one with it is still running)',
  noWaitingRoom: (eventId: number) => `Event ${eventId} has no waiting room`,
  queueNotOpen: (eventId: number, opensAt: string) => `The queue for event ${eventId} opens at ${opensAt}`,
  queueClosed: (eventId: number) => `Event ${eventId} is sold out: its queue is closed`,
  notYourTurn: (position: number, ahead: number) =>
    `Not your turn yet: you are number ${position} in the queue, ${ahead} ahead of you`,
  turnExpired: 'Your turn passed without a reservation; the admission token has expired',
  ticketInvalid: (reason: string) => `ticket is not valid: ${reason}`,
  unavailable: 'The waiting room cannot be reached right now; your place is kept, try again shortly',
};
