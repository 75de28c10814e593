import { describe, expect, it } from 'vitest';
import { describeFailure } from '../src/api.js';

// The gateway's real messages (libs/shared ErrorMessages and Nest's route 404s) → what a person reads.
describe('describeFailure: API errors in plain words', () => {
  it.each([
    [409, 'User alice already booked for event 3', 'You have already booked a seat for this event.'],
    [409, 'No available seats for event 3', 'Sorry, this event is sold out.'],
    [429, 'Too Many Requests', 'Too many requests right now. Please wait a few seconds and try again.'],
    [
      503,
      'The booking service is unavailable; try again shortly',
      'The booking system is busy or briefly unavailable. Please try again in a moment.',
    ],
    [
      504,
      'The booking service did not answer within 5000 ms',
      'The booking system is busy or briefly unavailable. Please try again in a moment.',
    ],
    [409, 'Sales for event 3 open at 2026-05-01T18:00:00.000Z', 'Sales for this event have not opened yet.'],
    [409, 'Sales for event 3 have closed', 'Sales for this event have closed.'],
    [
      409,
      'Event 3 has 12 seats booked; total_seats cannot be set below that',
      'Event 3 has 12 seats booked; total_seats cannot be set below that.',
    ],
    [
      409,
      'Event 3 has seats available: book one instead of joining the waitlist',
      'A seat is free again: book it instead of joining the waitlist.',
    ],
    [
      409,
      'User alice is already on the waitlist for event 3, at position 2',
      'User alice is already on the waitlist for event 3, at position 2.',
    ],
    [404, 'User alice is not on the waitlist for event 3', 'You are not in line for this event.'],
    [404, 'Cannot PATCH /api/events/3', 'This server does not offer that yet.'],
    [401, 'Invalid admin token', 'Sign-in needed: your token is missing, expired or not accepted.'],
    [403, 'This route requires the admin role', 'Your sign-in does not allow this.'],
    [404, 'Event 3 not found', 'This event does not exist (any more).'],
    [404, 'Booking 9 not found', 'This booking does not exist (any more).'],
    [404, 'Cannot DELETE /api/bookings/9', 'This server does not offer that yet.'],
    [400, 'total_seats must be at least 1', 'Please check what you entered: total_seats must be at least 1.'],
    [500, 'Internal server error', 'Something went wrong on our side. Please try again.'],
  ])('%i %s', (status, serverMessage, expected) => {
    const text = describeFailure(status, serverMessage);
    expect(text).toBe(expected);
    expect(text).not.toMatch(/\b[45]\d\d\b/); // no status codes shown to people
  });
});
