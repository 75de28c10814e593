import { ErrorCode, ErrorMessages, type ServiceError, type WaitlistCommand } from '@booking/shared';
import { rejectionError, rejectionFor, type Rejection } from './reservation-rules.js';
import { salesStateAt, type EventSales, type SalesWindow } from './sales-window.js';

/**
 * The waitlist rule, free of HTTP, NATS and SQL. A user may take a place in
 * the line of an event only when a reservation would be refused for want of a
 * seat: the event exists, the user holds no booking for it, its sales are open
 * and it is sold out. A seat freed while anyone waits (a cancellation, a raised
 * capacity, sales reopened by an organiser) goes to the first in line, booked in
 * the transaction that frees it, one seat per person in line order; so while
 * sales are open, a line that is not empty means a full event, and a newcomer's
 * reservation never sees a seat that someone waits for. Nobody is given a seat
 * while sales are not open (after they close, and never once the event has
 * started): the line is kept, but not served, until an organiser reopens sales.
 *
 * The facts are read under the event's row lock, which every writer of its
 * seats or its line takes, so they cannot change between the decision and
 * its write.
 */
export type JoinRefusal = Rejection | { reason: 'already_waiting'; position: number } | { reason: 'seats_available' };

/** What decides a join, read under the event's row lock. */
export interface JoinFacts {
  eventExists: boolean;
  alreadyBooked: boolean;
  /** The user's place in the line if they already have one. */
  position: number | null;
  seatsLeft: number;
  sales: EventSales;
}

const SEATS_AVAILABLE: JoinRefusal = { reason: 'seats_available' };

/**
 * Why a user may not join, or undefined when they may. Precedence as for a
 * reservation (unknown event, booked, then the sales window), with "already in
 * line" before the window, so a user learns their place also once sales closed.
 */
export function joinRefusal(facts: JoinFacts): JoinRefusal | undefined {
  const { eventExists, alreadyBooked, position, sales } = facts;
  if (eventExists && !alreadyBooked && position !== null) return { reason: 'already_waiting', position };
  const rejection = rejectionFor({ eventExists, alreadyBooked, seatAvailable: false, sales });
  if (rejection.reason !== 'sold_out') return rejection;
  return facts.seatsLeft > 0 ? SEATS_AVAILABLE : undefined;
}

export function joinRefusalError(refusal: JoinRefusal, command: WaitlistCommand): ServiceError {
  switch (refusal.reason) {
    case 'already_waiting':
      return {
        code: ErrorCode.AlreadyWaiting,
        message: ErrorMessages.alreadyWaiting(command.user_id, command.event_id, refusal.position),
      };
    case 'seats_available':
      return { code: ErrorCode.SeatsAvailable, message: ErrorMessages.seatsAvailable(command.event_id) };
    default:
      return rejectionError(refusal, command);
  }
}

/**
 * Who of the line gets a seat now: while sales are open, the first in line,
 * one per seat left; nobody otherwise. `line` is the head of the line, in order.
 */
export function promotedFrom<T>(line: readonly T[], seatsLeft: number, sales: EventSales): T[] {
  if (sales.state !== 'open' || seatsLeft <= 0) return [];
  return line.slice(0, seatsLeft);
}

/**
 * An organiser's change refused for the line's sake: sales set to open later
 * while people wait. They would open by the clock, in no transaction that
 * could serve the line first, so a newcomer could take a seat freed meanwhile.
 * Closing the sales keeps the line (not served) and is allowed.
 */
export function lineConflict(eventId: number, window: SalesWindow, waiting: number, now: number): string | undefined {
  if (waiting === 0 || salesStateAt(window, now) !== 'not_open') return undefined;
  return ErrorMessages.waitersBeforeOpening(eventId, waiting);
}
