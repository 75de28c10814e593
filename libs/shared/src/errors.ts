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
  capacityBelowBooked: (eventId: number, booked: number) =>
    `Event ${eventId} has ${booked} seats booked; total_seats cannot be set below that`,
};
