import { ErrorCode, ErrorMessages, type ReserveBookingCommand, type ServiceError } from '@booking/shared';

/**
 * The reservation rule, free of HTTP and NATS: an event has a fixed number of
 * seats, and a user holds at most one booking per event. PostgreSQL enforces
 * both (CHECK on the seat counter, UNIQUE on (event_id, user_id)); this module
 * decides which rule a refused reservation broke, in the contract's order of
 * precedence: unknown event, then duplicate, then capacity.
 */
export type Rejection = 'event_not_found' | 'already_booked' | 'sold_out';

/** What the reserving statement saw when it inserted nothing. */
export interface RejectionFacts {
  eventExists: boolean;
  /** The user's booking was visible when the statement began. */
  alreadyBooked: boolean;
  /** A seat was free when the statement began. */
  seatAvailable: boolean;
}

export function rejectionFor(facts: RejectionFacts): Rejection {
  if (!facts.eventExists) return 'event_not_found';
  // With a seat free, the only thing that stops the insert is the user's own
  // booking, possibly committed by a concurrent request after the statement began.
  if (facts.alreadyBooked || facts.seatAvailable) return 'already_booked';
  return 'sold_out';
}

export function rejectionError(rejection: Rejection, command: ReserveBookingCommand): ServiceError {
  switch (rejection) {
    case 'event_not_found':
      return { code: ErrorCode.EventNotFound, message: ErrorMessages.eventNotFound(command.event_id) };
    case 'already_booked':
      return { code: ErrorCode.AlreadyBooked, message: ErrorMessages.alreadyBooked(command.user_id, command.event_id) };
    case 'sold_out':
      return { code: ErrorCode.SoldOut, message: ErrorMessages.soldOut(command.event_id) };
  }
}

export const seatsLeft = (event: { totalSeats: number; bookedSeats: number }): number =>
  Math.max(0, event.totalSeats - event.bookedSeats);
