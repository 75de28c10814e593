/** NATS request/reply subjects served by the booking service (in a namespace, prefixed with it: see `namesFor`). */
export const BookingSubjects = {
  reserve: 'booking.reserve',
  /** Several reservations in one message (see `reserveBatchSchema`). */
  reserveBatch: 'booking.reserve.batch',
  cancel: 'booking.cancel',
  bookingHistory: 'booking.history',
  getBooking: 'booking.get',
  listBookings: 'booking.list',
  createEvent: 'event.create',
  /** An organiser's change of an event, or closing its sales (see `updateEventCommandSchema`). */
  updateEvent: 'event.update',
  getEvent: 'event.get',
  /** Events by id, a page at a time, with filters (see `listEventsSchema`). */
  listEvents: 'event.list',
  /** Seats left of several events at once (see `seatsQuerySchema`): the live feed's lookups. */
  seatsLeft: 'event.seats',
  /** A user joins a sold-out event's waitlist (see `waitlistCommandSchema`). */
  joinWaitlist: 'waitlist.join',
  /** A user's place on an event's waitlist. */
  waitlistPosition: 'waitlist.get',
  /** A user leaves an event's waitlist. */
  leaveWaitlist: 'waitlist.leave',
} as const;
