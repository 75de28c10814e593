import { z } from 'zod';
import { userIdSchema } from './schemas.js';

/** The header that carries an admission token on `POST /api/bookings/reserve`. */
export const ADMISSION_TOKEN_HEADER = 'admission-token';

/** The most admissions per second an organiser may set; far above what one booking service holds. */
export const MAX_ADMISSIONS_PER_SECOND = 10_000;
/** The longest a queue may open before sales do: a week. */
export const MAX_JOIN_LEAD_S = 7 * 86_400;

/** The tightest and loosest latency target a room's adaptive pace may follow. */
export const MIN_BOOKING_P99_TARGET_MS = 10;
export const MAX_BOOKING_P99_TARGET_MS = 60_000;

const admissionsPerSecond = (field: string) =>
  z
    .number({ error: `${field} must be a number` })
    .int({ error: `${field} must be an integer` })
    .min(1, { error: `${field} must be at least 1` })
    .max(MAX_ADMISSIONS_PER_SECOND, { error: `${field} must be at most ${MAX_ADMISSIONS_PER_SECOND}` });

/**
 * `PUT /api/events/:id/waiting-room`: switches an event's waiting room on, or changes its pace. With
 * `booking_p99_target_ms` the pace adapts (starting at `admissions_per_second`, at most
 * `max_admissions_per_second`) so that reservations' p99 stays under the target; without it, it is fixed.
 */
export const waitingRoomSettingsSchema = z
  .strictObject(
    {
      admissions_per_second: admissionsPerSecond('admissions_per_second'),
      join_opens_before_s: z
        .number({ error: 'join_opens_before_s must be a number' })
        .int({ error: 'join_opens_before_s must be an integer' })
        .min(0, { error: 'join_opens_before_s must be at least 0' })
        .max(MAX_JOIN_LEAD_S, { error: `join_opens_before_s must be at most ${MAX_JOIN_LEAD_S}` })
        .default(900),
      booking_p99_target_ms: z
        .number({ error: 'booking_p99_target_ms must be a number' })
        .int({ error: 'booking_p99_target_ms must be an integer' })
        .min(MIN_BOOKING_P99_TARGET_MS, {
          error: `booking_p99_target_ms must be at least ${MIN_BOOKING_P99_TARGET_MS}`,
        })
        .max(MAX_BOOKING_P99_TARGET_MS, { error: `booking_p99_target_ms must be at most ${MAX_BOOKING_P99_TARGET_MS}` })
        .optional(),
      max_admissions_per_second: admissionsPerSecond('max_admissions_per_second').optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `Unknown field(s) ${issue.keys.join(', ')}: admissions_per_second, join_opens_before_s, ` +
            'booking_p99_target_ms and max_admissions_per_second may be set'
          : undefined,
    },
  )
  .refine(
    (settings) => settings.max_admissions_per_second === undefined || settings.booking_p99_target_ms !== undefined,
    {
      error: 'max_admissions_per_second bounds an adaptive pace: set booking_p99_target_ms with it',
      path: ['max_admissions_per_second'],
    },
  )
  .refine(
    (settings) =>
      settings.max_admissions_per_second === undefined ||
      settings.max_admissions_per_second >= settings.admissions_per_second,
    {
      error: 'max_admissions_per_second must be at least admissions_per_second',
      path: ['max_admissions_per_second'],
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
 * `seats_held`: the turn has come, but every seat left is held by someone admitted before (a seat given back
 * when one of them does not book in time is offered to those whose turn has come);
 * `admitted`: may book now with `admission_token` until `admission_expires_at`; `used`: booked with it;
 * `expired`: the turn passed unused; `closed`: sold out, the queue is closed; `off`: the waiting room was
 * switched off (book directly).
 */
export const QUEUE_STATES = ['early', 'waiting', 'seats_held', 'admitted', 'used', 'expired', 'closed', 'off'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

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
  /** The pace now: as set, or where adaptation has taken it. */
  admissions_per_second: number;
  /** The reservations' p99 the pace adapts to; null: a fixed pace. */
  booking_p99_target_ms: number | null;
  /** The highest pace adaptation may reach (the fixed pace when there is no target). */
  max_admissions_per_second: number;
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
