import { ErrorCode } from '@booking/shared';
import { describe, expect, it } from 'vitest';
import { ALWAYS_OPEN, type EventSales } from '../src/booking/sales-window.js';
import {
  joinRefusal,
  joinRefusalError,
  lineConflict,
  promotedFrom,
  type JoinFacts,
} from '../src/booking/waitlist-rules.js';

const OPENS = Date.parse('2026-06-01T18:00:00.000Z');
const CLOSES = Date.parse('2026-06-02T18:00:00.000Z');
const window = { opensAt: OPENS, closesAt: CLOSES };
const NOT_OPEN: EventSales = { state: 'not_open', window };
const CLOSED: EventSales = { state: 'closed', window };
const SOLD_OUT: JoinFacts = {
  eventExists: true,
  alreadyBooked: false,
  position: null,
  seatsLeft: 0,
  sales: ALWAYS_OPEN,
};
const command = { event_id: 7, user_id: 'ann' };

describe('waitlist rule: who may join', () => {
  it('lets a user without a booking or a place join an event on sale and sold out', () => {
    expect(joinRefusal(SOLD_OUT)).toBeUndefined();
  });

  it.each([
    ['an unknown event', { ...SOLD_OUT, eventExists: false, alreadyBooked: true, position: 3 }, 'event_not_found'],
    ['a user who holds a booking', { ...SOLD_OUT, alreadyBooked: true, position: 2 }, 'already_booked'],
    ['an event with seats left', { ...SOLD_OUT, seatsLeft: 2 }, 'seats_available'],
    ['an event whose sales closed', { ...SOLD_OUT, sales: CLOSED }, 'sales_closed'],
    ['an event whose sales closed, with seats left', { ...SOLD_OUT, seatsLeft: 1, sales: CLOSED }, 'sales_closed'],
    ['an event not on sale yet', { ...SOLD_OUT, sales: NOT_OPEN }, 'sales_not_open'],
  ])('refuses %s', (_name, facts, reason) => {
    expect(joinRefusal(facts)?.reason).toBe(reason);
  });

  it('tells a user already in line their place, also once sales have closed', () => {
    expect(joinRefusal({ ...SOLD_OUT, position: 4 })).toEqual({ reason: 'already_waiting', position: 4 });
    expect(joinRefusal({ ...SOLD_OUT, position: 1, sales: CLOSED })).toEqual({
      reason: 'already_waiting',
      position: 1,
    });
  });

  it('words each refusal as the contract does, the window and duplicates as a reservation would', () => {
    expect(joinRefusalError({ reason: 'already_waiting', position: 3 }, command)).toEqual({
      code: ErrorCode.AlreadyWaiting,
      message: 'User ann is already on the waitlist for event 7, at position 3',
    });
    expect(joinRefusalError({ reason: 'seats_available' }, command)).toEqual({
      code: ErrorCode.SeatsAvailable,
      message: 'Event 7 has seats available: book one instead of joining the waitlist',
    });
    expect(joinRefusalError({ reason: 'already_booked' }, command)).toEqual({
      code: ErrorCode.AlreadyBooked,
      message: 'User ann already booked for event 7',
    });
    expect(joinRefusalError({ reason: 'sales_closed' }, command).message).toBe('Sales for event 7 have closed');
    expect(joinRefusalError(joinRefusal({ ...SOLD_OUT, sales: NOT_OPEN })!, command).message).toBe(
      'Sales for event 7 open at 2026-06-01T18:00:00.000Z',
    );
  });
});

describe('waitlist rule: who gets a freed seat', () => {
  const line = ['first', 'second', 'third'];

  it('gives the seats left to the first in line, one each, in order', () => {
    expect(promotedFrom(line, 1, ALWAYS_OPEN)).toEqual(['first']);
    expect(promotedFrom(line, 2, ALWAYS_OPEN)).toEqual(['first', 'second']);
    expect(promotedFrom(line, 10, ALWAYS_OPEN)).toEqual(line);
  });

  it('gives nothing without a seat, to an empty line, or while sales are not open', () => {
    expect(promotedFrom(line, 0, ALWAYS_OPEN)).toEqual([]);
    expect(promotedFrom(line, -1, ALWAYS_OPEN)).toEqual([]);
    expect(promotedFrom([], 3, ALWAYS_OPEN)).toEqual([]);
    expect(promotedFrom(line, 3, CLOSED)).toEqual([]);
    expect(promotedFrom(line, 3, NOT_OPEN)).toEqual([]);
  });
});

describe('waitlist rule: organisers’ changes', () => {
  it('refuses sales set to open later while anyone waits, and nothing else', () => {
    expect(lineConflict(7, window, 2, OPENS - 1)).toBe(
      'Event 7 has 2 people on its waitlist; its sales cannot be set to open later while they wait (close the sales instead)',
    );
    expect(lineConflict(7, window, 0, OPENS - 1)).toBeUndefined();
    expect(lineConflict(7, window, 2, OPENS)).toBeUndefined();
    expect(lineConflict(7, window, 2, CLOSES)).toBeUndefined();
  });
});
