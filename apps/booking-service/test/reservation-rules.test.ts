import { ErrorCode } from '@booking/shared';
import { describe, expect, it } from 'vitest';
import {
  allocateSeats,
  allSoldOut,
  bookingKey,
  writableWithoutLocks,
  rejectionError,
  rejectionFor,
  seatsLeft,
  seatsLeftAfter,
  writableBeforeReading,
} from '../src/booking/reservation-rules.js';
import { salesStateAt, type EventSales } from '../src/booking/sales-window.js';

const OPENS = Date.parse('2026-06-01T18:00:00.000Z');
const CLOSES = Date.parse('2026-06-02T18:00:00.000Z');
const window = { opensAt: OPENS, closesAt: CLOSES };
const NOT_OPEN: EventSales = { state: 'not_open', window };
const CLOSED: EventSales = { state: 'closed', window };

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
    expect(rejectionFor(facts)).toEqual({ reason: expected });
  });

  it.each([
    // Unknown event and a duplicate come first; the window before capacity.
    [{ eventExists: false, alreadyBooked: false, seatAvailable: false, sales: CLOSED }, { reason: 'event_not_found' }],
    [{ eventExists: true, alreadyBooked: true, seatAvailable: true, sales: CLOSED }, { reason: 'already_booked' }],
    [{ eventExists: true, alreadyBooked: false, seatAvailable: false, sales: CLOSED }, { reason: 'sales_closed' }],
    [{ eventExists: true, alreadyBooked: false, seatAvailable: true, sales: CLOSED }, { reason: 'sales_closed' }],
    [
      { eventExists: true, alreadyBooked: false, seatAvailable: true, sales: NOT_OPEN },
      { reason: 'sales_not_open', salesOpenAt: '2026-06-01T18:00:00.000Z' },
    ],
    [
      { eventExists: true, alreadyBooked: false, seatAvailable: false, sales: NOT_OPEN },
      { reason: 'sales_not_open', salesOpenAt: '2026-06-01T18:00:00.000Z' },
    ],
  ] as const)('with a sales window: %j → %j', (facts, expected) => {
    expect(rejectionFor(facts)).toEqual(expected);
  });

  it.each([
    ['event_exists', 'event_not_found'],
    ['one_booking_per_user', 'already_booked'],
    ['seat_capacity', 'sold_out'],
  ] as const)('a write refused by the %s rule → %s', (violated, expected) => {
    expect(rejectionFor({ violated })).toEqual({ reason: expected });
  });

  it('words each rejection as the contract says', () => {
    const command = { event_id: 7, user_id: 'user123' };
    expect(rejectionError({ reason: 'already_booked' }, command)).toEqual({
      code: ErrorCode.AlreadyBooked,
      message: 'User user123 already booked for event 7',
    });
    expect(rejectionError({ reason: 'sold_out' }, command)).toEqual({
      code: ErrorCode.SoldOut,
      message: 'No available seats for event 7',
    });
    expect(rejectionError({ reason: 'event_not_found' }, command)).toEqual({
      code: ErrorCode.EventNotFound,
      message: 'Event 7 not found',
    });
    expect(rejectionError({ reason: 'sales_not_open', salesOpenAt: '2026-06-01T18:00:00.000Z' }, command)).toEqual({
      code: ErrorCode.SalesNotOpen,
      message: 'Sales for event 7 open at 2026-06-01T18:00:00.000Z',
    });
    expect(rejectionError({ reason: 'sales_closed' }, command)).toEqual({
      code: ErrorCode.SalesClosed,
      message: 'Sales for event 7 have closed',
    });
  });

  it('counts seats left, never below zero', () => {
    expect(seatsLeft({ totalSeats: 10, bookedSeats: 3 })).toBe(7);
    expect(seatsLeft({ totalSeats: 10, bookedSeats: 10 })).toBe(0);
    expect(seatsLeft({ totalSeats: 1, bookedSeats: 2 })).toBe(0);
  });
});

describe('allocateSeats', () => {
  const book = { kind: 'book' };
  const reject = (reason: string) => ({ kind: 'reject', rejection: { reason } });

  it('serves requests in arrival order until the seats run out', () => {
    const requests = ['a', 'b', 'c'].map((user_id) => ({ event_id: 1, user_id }));
    expect(allocateSeats(requests, new Map([[1, 2]]), new Set())).toEqual([book, book, reject('sold_out')]);
  });

  it('puts unknown event before duplicate before capacity', () => {
    const booked = new Set([bookingKey(1, 'dup')]);
    expect(
      allocateSeats(
        [
          { event_id: 2, user_id: 'dup' },
          { event_id: 1, user_id: 'dup' },
          { event_id: 1, user_id: 'new' },
        ],
        new Map([[1, 0]]),
        booked,
      ),
    ).toEqual([reject('event_not_found'), reject('already_booked'), reject('sold_out')]);
  });

  it('refuses every newcomer of an event not on sale, but still tells a duplicate', () => {
    const requests = [
      { event_id: 1, user_id: 'a' },
      { event_id: 1, user_id: 'dup' },
      { event_id: 2, user_id: 'a' },
      { event_id: 3, user_id: 'a' },
    ];
    const allocations = allocateSeats(
      requests,
      new Map([
        [1, 5],
        [2, 5],
        [3, 5],
      ]),
      new Set([bookingKey(1, 'dup')]),
      new Map([
        [1, CLOSED],
        [2, NOT_OPEN],
      ]),
    );
    expect(allocations).toEqual([
      reject('sales_closed'),
      reject('already_booked'),
      { kind: 'reject', rejection: { reason: 'sales_not_open', salesOpenAt: '2026-06-01T18:00:00.000Z' } },
      book,
    ]);
    // A window refusal is justified by the snapshot alone; it is no refusal for want of seats.
    expect(writableWithoutLocks(requests, allocations, new Map([[1, 5]]))).toBe(true);
    expect(allSoldOut(allocations)).toBe(false);
  });

  it('treats a second request of one user in the same batch as a duplicate, without using a seat', () => {
    expect(
      allocateSeats(
        [
          { event_id: 1, user_id: 'u' },
          { event_id: 1, user_id: 'u' },
          { event_id: 1, user_id: 'v' },
        ],
        new Map([[1, 2]]),
        new Set(),
      ),
    ).toEqual([book, reject('already_booked'), book]);
  });

  it('keeps events apart and does not change its inputs', () => {
    const seats = new Map([
      [1, 1],
      [2, 1],
    ]);
    const booked = new Set<string>();
    expect(
      allocateSeats(
        [
          { event_id: 1, user_id: 'u' },
          { event_id: 2, user_id: 'u' },
        ],
        seats,
        booked,
      ),
    ).toEqual([book, book]);
    expect(seats.get(1)).toBe(1);
    expect(booked.size).toBe(0);
  });
});

describe('writableWithoutLocks', () => {
  const decide = (
    requests: { event_id: number; user_id: string }[],
    seats: Map<number, number>,
    booked = new Set<string>(),
  ) => writableWithoutLocks(requests, allocateSeats(requests, seats, booked), seats);

  it('holds when every request is booked', () => {
    expect(
      decide(
        [
          { event_id: 1, user_id: 'a' },
          { event_id: 2, user_id: 'a' },
        ],
        new Map([
          [1, 5],
          [2, 1],
        ]),
      ),
    ).toBe(true);
  });

  it('holds for refusals the snapshot justifies alone: duplicate, unknown event, no seat left', () => {
    const requests = [
      { event_id: 1, user_id: 'dup' },
      { event_id: 9, user_id: 'x' },
      { event_id: 2, user_id: 'late' },
      { event_id: 1, user_id: 'new' },
    ];
    expect(
      decide(
        requests,
        new Map([
          [1, 3],
          [2, 0],
        ]),
        new Set([bookingKey(1, 'dup')]),
      ),
    ).toBe(true);
  });

  it('does not hold when the batch itself used up the last seats and refused the rest', () => {
    expect(
      decide(
        ['a', 'b', 'c'].map((user_id) => ({ event_id: 1, user_id })),
        new Map([[1, 2]]),
      ),
    ).toBe(false);
    // Also when another event of the batch was sold out before it: the partial one decides.
    const requests = [
      { event_id: 2, user_id: 'a' },
      { event_id: 1, user_id: 'a' },
      { event_id: 1, user_id: 'b' },
    ];
    expect(
      decide(
        requests,
        new Map([
          [1, 1],
          [2, 0],
        ]),
      ),
    ).toBe(false);
  });
});

describe('deciding on the seats last seen', () => {
  /** The batch decided on the seats last seen, [event id, seats] each, and no booking read. */
  const decided = (requests: { event_id: number; user_id: string }[], ...lastSeen: [number, number][]) =>
    allocateSeats(requests, new Map(lastSeen), new Set());
  /** A user asking twice for event 1, another once for event 2. */
  const twiceAndOnce = [
    { event_id: 1, user_id: 'a' },
    { event_id: 1, user_id: 'a' },
    { event_id: 2, user_id: 'b' },
  ];

  it('writableBeforeReading admits a batch that books in full, and a second request of a user in it', () => {
    expect(writableBeforeReading(decided(twiceAndOnce, [1, 1], [2, 3]))).toBe(true);
  });

  it('writableBeforeReading needs a read for any other refusal: an event not seen, or one seen short of seats', () => {
    expect(writableBeforeReading(decided([{ event_id: 3, user_id: 'a' }], [1, 5]))).toBe(false);
    expect(
      writableBeforeReading(
        decided(
          [
            { event_id: 1, user_id: 'a' },
            { event_id: 1, user_id: 'b' },
          ],
          [1, 1],
        ),
      ),
    ).toBe(false);
    expect(writableBeforeReading(decided([{ event_id: 1, user_id: 'a' }], [1, 0]))).toBe(false);
  });

  it('allSoldOut holds when every event asked for was seen with no seat left, a user asking twice included', () => {
    expect(allSoldOut(decided(twiceAndOnce, [1, 0], [2, 0]))).toBe(true);
  });

  it('allSoldOut does not hold for a booking or an event not seen', () => {
    expect(allSoldOut(decided(twiceAndOnce, [1, 0], [2, 1]))).toBe(false);
    expect(allSoldOut(decided([{ event_id: 3, user_id: 'a' }], [1, 0]))).toBe(false);
  });
});

describe('salesStateAt', () => {
  it.each([
    [{ opensAt: null, closesAt: null }, 0, 'open'],
    [window, OPENS - 1, 'not_open'],
    [window, OPENS, 'open'],
    [window, CLOSES - 1, 'open'],
    [window, CLOSES, 'closed'],
    [{ opensAt: OPENS, closesAt: null }, OPENS + 10 ** 12, 'open'],
    [{ opensAt: null, closesAt: CLOSES }, 0, 'open'],
    // An empty window (sales closed before they opened) is closed.
    [{ opensAt: CLOSES, closesAt: OPENS }, OPENS - 1, 'not_open'],
    [{ opensAt: CLOSES, closesAt: OPENS }, OPENS, 'closed'],
  ] as const)('%j at %d → %s', (bounds, at, expected) => {
    expect(salesStateAt(bounds, at)).toBe(expected);
  });
});

describe('seatsLeftAfter', () => {
  it('takes one seat per booking, none for a refusal, and leaves its input alone', () => {
    const requests = [
      { event_id: 1, user_id: 'a' },
      { event_id: 1, user_id: 'a' },
      { event_id: 2, user_id: 'b' },
      { event_id: 2, user_id: 'c' },
    ];
    const before = new Map([
      [1, 4],
      [2, 1],
    ]);
    expect(seatsLeftAfter(requests, allocateSeats(requests, before, new Set()), before)).toEqual(
      new Map([
        [1, 3],
        [2, 0],
      ]),
    );
    expect(before.get(1)).toBe(4);
  });
});
