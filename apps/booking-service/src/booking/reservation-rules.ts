import {
  ErrorCode,
  ErrorMessages,
  type BookingFailedData,
  type BookingView,
  type ReserveBookingCommand,
  type ServiceError,
} from '@booking/shared';
import type { FailedEvent } from '../outbox/outbox-events.js';
import { ALWAYS_OPEN, type EventSales } from './sales-window.js';

/**
 * The reservation rule, free of HTTP, NATS and SQL: an event has a fixed number
 * of seats, is booked only while its sales window is open, and a user holds at
 * most one booking per event. PostgreSQL enforces all three (CHECK on the seat
 * counter, the window in the seat-counter trigger, UNIQUE on (event_id,
 * user_id)); `rejectionFor` is the one place that decides which rule a refused
 * reservation broke, in the contract's order of precedence: unknown event, then
 * duplicate, then the window (closed, not open yet), then capacity.
 */
export type Rejection =
  | { reason: 'event_not_found' | 'already_booked' | 'sold_out' | 'sales_closed' }
  | { reason: 'sales_not_open'; salesOpenAt: string };

/** The database rule that refused a write, as the violated constraint says. */
export type ViolatedRule = 'event_exists' | 'one_booking_per_user' | 'seat_capacity';

/**
 * What is known about a refused reservation: what a statement saw (a snapshot
 * of the event and the user's bookings), or which rule refused its write.
 */
export type RejectionFacts =
  | {
      eventExists: boolean;
      /** The user's booking was visible in the snapshot. */
      alreadyBooked: boolean;
      /** A seat was free in the snapshot. */
      seatAvailable: boolean;
      /** The event's sales at the statement's time; open when not given. */
      sales?: EventSales;
    }
  | { violated: ViolatedRule };

// One object per outcome, shared: deciding allocates nothing per request (but a "not open yet", which names its event's time).
const EVENT_NOT_FOUND: Rejection = { reason: 'event_not_found' };
const ALREADY_BOOKED: Rejection = { reason: 'already_booked' };
const SOLD_OUT: Rejection = { reason: 'sold_out' };
const SALES_CLOSED: Rejection = { reason: 'sales_closed' };

export function rejectionFor(facts: RejectionFacts): Rejection {
  if ('violated' in facts) return REJECTION_BY_RULE[facts.violated];
  if (!facts.eventExists) return EVENT_NOT_FOUND;
  if (facts.alreadyBooked) return ALREADY_BOOKED;
  const sales = facts.sales ?? ALWAYS_OPEN;
  if (sales.state === 'closed') return SALES_CLOSED;
  if (sales.state === 'not_open') return { reason: 'sales_not_open', salesOpenAt: isoTime(sales.window.opensAt) };
  // On sale with a seat free, the only thing that stops a booking is the user's own
  // booking, possibly committed by a concurrent request after the snapshot.
  return facts.seatAvailable ? ALREADY_BOOKED : SOLD_OUT;
}

const isoTime = (epochMs: number | null): string => new Date(epochMs ?? 0).toISOString();

const REJECTION_BY_RULE: Record<ViolatedRule, Rejection> = {
  event_exists: EVENT_NOT_FOUND,
  one_booking_per_user: ALREADY_BOOKED,
  seat_capacity: SOLD_OUT,
};

export function rejectionError(rejection: Rejection, command: ReserveBookingCommand): ServiceError {
  switch (rejection.reason) {
    case 'event_not_found':
      return { code: ErrorCode.EventNotFound, message: ErrorMessages.eventNotFound(command.event_id) };
    case 'already_booked':
      return { code: ErrorCode.AlreadyBooked, message: ErrorMessages.alreadyBooked(command.user_id, command.event_id) };
    case 'sold_out':
      return { code: ErrorCode.SoldOut, message: ErrorMessages.soldOut(command.event_id) };
    case 'sales_not_open':
      return {
        code: ErrorCode.SalesNotOpen,
        message: ErrorMessages.salesNotOpen(command.event_id, rejection.salesOpenAt),
      };
    case 'sales_closed':
      return { code: ErrorCode.SalesClosed, message: ErrorMessages.salesClosed(command.event_id) };
  }
}

export const seatsLeft = (event: { totalSeats: number; bookedSeats: number }): number =>
  Math.max(0, event.totalSeats - event.bookedSeats);

export type ReserveResult = { booking: BookingView } | { rejection: Rejection };

/** The outcome decided for one reservation of a batch. */
export type Allocation = { kind: 'book' } | { kind: 'reject'; rejection: Rejection };

// One object per outcome, shared by every batch: deciding a batch allocates nothing per request.
const BOOK: Allocation = { kind: 'book' };
const REJECT = new Map<Rejection, Allocation>(
  [EVENT_NOT_FOUND, ALREADY_BOOKED, SOLD_OUT, SALES_CLOSED].map((rejection) => [
    rejection,
    { kind: 'reject', rejection },
  ]),
);
const NO_WINDOWS: ReadonlyMap<number, EventSales> = new Map();

/**
 * Decides a batch of reservations in arrival order, given the seats left per
 * event, the (event, user) pairs already booked and each event's sales (open
 * where not given). Same answers as deciding them one by one (a second request
 * of the same user in this batch is a duplicate); `rejectionFor` says why one
 * is refused.
 */
export function allocateSeats(
  requests: readonly ReserveBookingCommand[],
  seatsLeftByEvent: ReadonlyMap<number, number>,
  alreadyBooked: ReadonlySet<string>,
  salesByEvent: ReadonlyMap<number, EventSales> = NO_WINDOWS,
): Allocation[] {
  const seatsLeft = new Map(seatsLeftByEvent);
  const booked = new Set(alreadyBooked);
  // Filled in for each refused request in turn rather than made anew.
  const facts = { eventExists: false, alreadyBooked: false, seatAvailable: false, sales: ALWAYS_OPEN };
  // A "not open yet" names its event's time: one per event.
  const notOpen = new Map<number, Allocation>();
  return requests.map((request): Allocation => {
    const left = seatsLeft.get(request.event_id);
    const key = bookingKey(request.event_id, request.user_id);
    facts.eventExists = left !== undefined;
    facts.alreadyBooked = booked.has(key);
    facts.seatAvailable = left !== undefined && left > 0;
    facts.sales = salesByEvent.get(request.event_id) ?? ALWAYS_OPEN;
    if (!facts.eventExists || facts.alreadyBooked || !facts.seatAvailable || facts.sales.state !== 'open') {
      const rejection = rejectionFor(facts);
      const shared = REJECT.get(rejection) ?? notOpen.get(request.event_id);
      if (shared) return shared;
      const allocation: Allocation = { kind: 'reject', rejection };
      notOpen.set(request.event_id, allocation);
      return allocation;
    }
    seatsLeft.set(request.event_id, left! - 1);
    booked.add(key);
    return BOOK;
  });
}

export const bookingKey = (eventId: number, userId: string): string => `${eventId}\u0000${userId}`;

/**
 * Whether a batch decided on an unlocked snapshot (read after its requests
 * arrived) may stand. Its bookings are re-checked by the constraints and the
 * window's trigger as they are inserted, so they hold or the insert fails. A
 * refusal holds when the snapshot alone justifies it: a duplicate, an unknown
 * event, an event not on sale at the snapshot's time, or one it shows with no
 * seat left. Where the batch itself used up an event's
 * last seats, refusing the rest would be right only if no seat was freed
 * before the insert, so that batch is decided again under the events' locks.
 */
export function writableWithoutLocks(
  requests: readonly ReserveBookingCommand[],
  allocations: readonly Allocation[],
  seatsLeftByEvent: ReadonlyMap<number, number>,
): boolean {
  return allocations.every(
    (allocation, i) =>
      allocation.kind === 'book' ||
      allocation.rejection.reason !== 'sold_out' ||
      (seatsLeftByEvent.get(requests[i]!.event_id) ?? 0) <= 0,
  );
}

/**
 * Whether a batch decided on the seats left this replica last saw may be
 * written before anything is read: every reservation books, or is a second
 * request of a user in the same batch, a refusal the batch's own insert
 * justifies. The constraints re-check every booking as it is inserted, so a
 * count that is out of date costs a failed statement, never a wrong answer.
 * Any other refusal needs a fresh read to justify it.
 */
export function writableBeforeReading(allocations: readonly Allocation[]): boolean {
  return allocations.every(
    (allocation) => allocation.kind === 'book' || allocation.rejection.reason === 'already_booked',
  );
}

/**
 * Whether a batch decided on the seats last seen refuses every reservation
 * for want of a seat. Such refusals hold only if a fresh snapshot shows the
 * same: every event on sale and sold out, and none of the batch's users booked.
 */
export function allSoldOut(allocations: readonly Allocation[]): boolean {
  return allocations.every((allocation) => allocation.kind === 'reject' && allocation.rejection.reason === 'sold_out');
}

/** The seats each event has left once a batch's bookings are made. */
export function seatsLeftAfter(
  requests: readonly ReserveBookingCommand[],
  allocations: readonly Allocation[],
  seatsLeftByEvent: ReadonlyMap<number, number>,
): Map<number, number> {
  const left = new Map(seatsLeftByEvent);
  allocations.forEach((allocation, i) => {
    const eventId = requests[i]!.event_id;
    if (allocation.kind === 'book') left.set(eventId, left.get(eventId)! - 1);
  });
  return left;
}

/** A batch's winners and their correlation ids, in request order. */
export function winnersOf(
  commands: readonly ReserveBookingCommand[],
  correlationIds: readonly string[],
  allocations: readonly Allocation[],
): { winners: ReserveBookingCommand[]; winnerCorrelationIds: string[] } {
  const winners: ReserveBookingCommand[] = [];
  const winnerCorrelationIds: string[] = [];
  for (const [i, allocation] of allocations.entries()) {
    if (allocation.kind !== 'book') continue;
    winners.push(commands[i]!);
    winnerCorrelationIds.push(correlationIds[i]!);
  }
  return { winners, winnerCorrelationIds };
}

/** The answers in request order: each winner's booking among `inserted`, each refusal's reason. */
export function answersOf(
  commands: readonly ReserveBookingCommand[],
  allocations: readonly Allocation[],
  inserted: readonly BookingView[],
): ReserveResult[] {
  const byKey = new Map(inserted.map((booking) => [bookingKey(booking.event_id, booking.user_id), booking]));
  return commands.map((command, i): ReserveResult => {
    const allocation = allocations[i]!;
    if (allocation.kind === 'reject') return { rejection: allocation.rejection };
    return { booking: byKey.get(bookingKey(command.event_id, command.user_id))! };
  });
}

/** The `booking.failed` event of each refusal of a batch. */
export function failedEvents(
  commands: readonly ReserveBookingCommand[],
  correlationIds: readonly string[],
  allocations: readonly Allocation[],
): FailedEvent[] {
  const failures: FailedEvent[] = [];
  for (const [i, allocation] of allocations.entries()) {
    if (allocation.kind === 'reject') {
      failures.push({ correlationId: correlationIds[i]!, data: failedData(commands[i]!, allocation.rejection) });
    }
  }
  return failures;
}

/** A refusal's `booking.failed` data: the reason and the message the caller gets. */
export const failedData = (command: ReserveBookingCommand, rejection: Rejection): BookingFailedData => ({
  event_id: command.event_id,
  user_id: command.user_id,
  reason: rejection.reason,
  message: rejectionError(rejection, command).message,
});
