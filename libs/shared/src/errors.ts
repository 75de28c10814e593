/** Error codes the booking service replies with; the gateway maps each to one HTTP status. */
export const ErrorCode = {
  Validation: 'VALIDATION',
  EventNotFound: 'EVENT_NOT_FOUND',
  BookingNotFound: 'BOOKING_NOT_FOUND',
  AlreadyBooked: 'ALREADY_BOOKED',
  SoldOut: 'SOLD_OUT',
  /** The event's sales window has not opened yet. */
  SalesNotOpen: 'SALES_NOT_OPEN',
  /** The event's sales have closed (at `sales_close_at`, or when it started). */
  SalesClosed: 'SALES_CLOSED',
  /** A waitlist join for an event that still has seats to book. */
  SeatsAvailable: 'SEATS_AVAILABLE',
  /** The user already has a place on the event's waitlist. */
  AlreadyWaiting: 'ALREADY_WAITING',
  /** The user has no place on the event's waitlist (never joined, left, or was given a seat). */
  NotWaiting: 'NOT_WAITING',
  /** An organiser's change the event's current state does not allow (capacity below the seats booked, a window out of order). */
  EventChangeConflict: 'EVENT_CHANGE_CONFLICT',
  /** A dependency (PostgreSQL) is unreachable or too slow; nothing was written: retrying later may succeed. */
  Unavailable: 'UNAVAILABLE',
  /** The command was not started: its deadline would pass first, or the service's queue is full. Nothing was written. */
  NotStarted: 'NOT_STARTED',
  /** The command was sent to PostgreSQL and no answer came back: it may or may not have been written. */
  OutcomeUnknown: 'OUTCOME_UNKNOWN',
  /** A bug; nothing was written. */
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const HTTP_STATUS_BY_ERROR_CODE: Record<ErrorCode, number> = {
  VALIDATION: 400,
  EVENT_NOT_FOUND: 404,
  BOOKING_NOT_FOUND: 404,
  ALREADY_BOOKED: 409,
  SOLD_OUT: 409,
  SALES_NOT_OPEN: 409,
  SALES_CLOSED: 409,
  SEATS_AVAILABLE: 409,
  ALREADY_WAITING: 409,
  NOT_WAITING: 404,
  EVENT_CHANGE_CONFLICT: 409,
  UNAVAILABLE: 503,
  NOT_STARTED: 503,
  OUTCOME_UNKNOWN: 504,
  INTERNAL: 500,
};

export interface ServiceError {
  code: ErrorCode;
  message: string;
}

/** The contract's exact messages (the seed's, and those of the ticketing extensions). */
export const ErrorMessages = {
  alreadyBooked: (userId: string, eventId: number) => `User ${userId} already booked for event ${eventId}`,
  soldOut: (eventId: number) => `No available seats for event ${eventId}`,
  eventNotFound: (eventId: number) => `Event ${eventId} not found`,
  bookingNotFound: (bookingId: number) => `Booking ${bookingId} not found`,
  salesNotOpen: (eventId: number, opensAt: string) => `Sales for event ${eventId} open at ${opensAt}`,
  salesClosed: (eventId: number) => `Sales for event ${eventId} have closed`,
  seatsAvailable: (eventId: number) => `Event ${eventId} has seats available: book one instead of joining the waitlist`,
  alreadyWaiting: (userId: string, eventId: number, position: number) =>
    `User ${userId} is already on the waitlist for event ${eventId}, at position ${position}`,
  notWaiting: (userId: string, eventId: number) => `User ${userId} is not on the waitlist for event ${eventId}`,
  waitersBeforeOpening: (eventId: number, waiting: number) =>
    `Event ${eventId} has ${waiting} people on its waitlist; its sales cannot be set to open later while they wait (close the sales instead)`,
  capacityBelowBooked: (eventId: number, booked: number) =>
    `Event ${eventId} has ${booked} seats booked; total_seats cannot be set below that`,
};
