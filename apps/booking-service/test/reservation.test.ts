import { ErrorCode } from '@booking/shared';
import { describe, expect, it } from 'vitest';
import { rejectionError, rejectionFor, seatsLeft } from '../src/booking/reservation.js';

describe('reservation rule', () => {
  it.each([
    [{ eventExists: false, alreadyBooked: false, seatAvailable: false }, 'event_not_found'],
    [{ eventExists: false, alreadyBooked: true, seatAvailable: true }, 'event_not_found'],
    [{ eventExists: true, alreadyBooked: true, seatAvailable: false }, 'already_booked'],
    [{ eventExists: true, alreadyBooked: true, seatAvailable: true }, 'already_booked'],
    // A seat was free yet nothing was inserted: a concurrent request of the same user won.
    [{ eventExists: true, alreadyBooked: false, seatAvailable: true }, 'already_booked'],
    [{ eventExists: true, alreadyBooked: false, seatAvailable: false }, 'sold_out'],
  ] as const)('%j → %s', (facts, expected) => {
    expect(rejectionFor(facts)).toBe(expected);
  });

  it('words each rejection as the contract says', () => {
    const command = { event_id: 7, user_id: 'user123' };
    expect(rejectionError('already_booked', command)).toEqual({
      code: ErrorCode.AlreadyBooked,
      message: 'User user123 already booked for event 7',
    });
    expect(rejectionError('sold_out', command)).toEqual({
      code: ErrorCode.SoldOut,
      message: 'No available seats for event 7',
    });
    expect(rejectionError('event_not_found', command)).toEqual({
      code: ErrorCode.EventNotFound,
      message: 'Event 7 not found',
    });
  });

  it('counts seats left, never below zero', () => {
    expect(seatsLeft({ totalSeats: 10, bookedSeats: 3 })).toBe(7);
    expect(seatsLeft({ totalSeats: 10, bookedSeats: 10 })).toBe(0);
    expect(seatsLeft({ totalSeats: 1, bookedSeats: 2 })).toBe(0);
  });
});
