/** NATS request/reply subjects served by the booking service. */
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

/** Every replica of the booking service joins this queue group, so each request is handled once. */
export const BOOKING_QUEUE_GROUP = 'booking-service';
