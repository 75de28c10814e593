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
  getEvent: 'event.get',
  listEvents: 'event.list',
  /** Seats left of several events at once (see `seatsQuerySchema`): the live feed's lookups. */
  seatsLeft: 'event.seats',
} as const;
