import {
  ErrorCode,
  ErrorMessages,
  type BookingFailureReason,
  type ReserveBookingCommand,
  type ServiceError,
} from '@booking/shared';

/**
 * The reservation rule, free of HTTP and NATS: an event has a fixed number of
 * seats, and a user holds at most one booking per event. PostgreSQL enforces
 * both (CHECK on the seat counter, UNIQUE on (event_id, user_id)); this module
 * decides which rule a refused reservation broke, in the contract's order of
 * precedence: unknown event, then duplicate, then capacity.
 */
export type Rejection = BookingFailureReason;

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

/** The outcome decided for one reservation of a batch. */
export type Allocation = { kind: 'book' } | { kind: 'reject'; rejection: Rejection };

/**
 * Decides a batch of reservations in arrival order, given the seats left per
 * event (read under the events' row locks) and the (event, user) pairs already
 * booked. Same answers as deciding them one by one: unknown event first, then a
 * duplicate (including a second request of the same user in this batch), then
 * capacity.
 */
export function allocateSeats(
  requests: readonly ReserveBookingCommand[],
  seatsLeftByEvent: ReadonlyMap<number, number>,
  alreadyBooked: ReadonlySet<string>,
): Allocation[] {
  const seatsLeft = new Map(seatsLeftByEvent);
  const booked = new Set(alreadyBooked);
  return requests.map((request): Allocation => {
    const left = seatsLeft.get(request.event_id);
    if (left === undefined) return { kind: 'reject', rejection: 'event_not_found' };
    const key = bookingKey(request.event_id, request.user_id);
    if (booked.has(key)) return { kind: 'reject', rejection: 'already_booked' };
    if (left <= 0) return { kind: 'reject', rejection: 'sold_out' };
    seatsLeft.set(request.event_id, left - 1);
    booked.add(key);
    return { kind: 'book' };
  });
}

export const bookingKey = (eventId: number, userId: string): string => `${eventId}\u0000${userId}`;

/**
 * Whether a batch decided on an unlocked snapshot (read after its requests
 * arrived) may stand. Its bookings are re-checked by the constraints as they
 * are inserted, so they hold or the insert fails. A refusal holds when the
 * snapshot alone justifies it: a duplicate, an unknown event, or an event the
 * snapshot shows with no seat left. Where the batch itself used up an event's
 * last seats, refusing the rest would be right only if no seat was freed
 * before the insert, so that batch is decided again under the events' locks.
 */
export function holdsWithoutLocks(
  requests: readonly ReserveBookingCommand[],
  allocations: readonly Allocation[],
  seatsLeftByEvent: ReadonlyMap<number, number>,
): boolean {
  return allocations.every(
    (allocation, i) =>
      allocation.kind === 'book' ||
      allocation.rejection !== 'sold_out' ||
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
export function writableUnread(allocations: readonly Allocation[]): boolean {
  return allocations.every((allocation) => allocation.kind === 'book' || allocation.rejection === 'already_booked');
}

/**
 * Whether a batch decided on the seats last seen refuses every reservation
 * for want of a seat. Such refusals hold only if a fresh snapshot shows the
 * same: every event sold out and none of the batch's users booked.
 */
export function allSoldOut(allocations: readonly Allocation[]): boolean {
  return allocations.every((allocation) => allocation.kind === 'reject' && allocation.rejection === 'sold_out');
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
