import { describe, expect, it } from 'vitest';
import {
  adaptedRate,
  admittedCount,
  decidePlace,
  placing,
  repaced,
  secondsToWait,
  ticksBetweenMessages,
  type PlaceFacts,
} from '../../src/waiting-room/queue-rules.js';

const OPEN = 1_000_000;

describe('waiting room rules', () => {
  it('places early arrivals at random only before the opening, and never once arrival order has begun', () => {
    expect(placing(OPEN - 1, OPEN, false)).toBe('early');
    expect(placing(OPEN, OPEN, false)).toBe('arrival');
    expect(placing(OPEN - 1, OPEN, true)).toBe('arrival');
    // No sales window: arrival order from the start.
    expect(placing(5, 0, false)).toBe('arrival');
  });

  it('admits at the pace from the opening, and a change of pace keeps the count reached', () => {
    const pace = repaced(undefined, 10, OPEN, OPEN - 5_000);
    expect(pace).toEqual({ rate: 10, baseAt: OPEN, baseCount: 0 });
    expect(admittedCount(pace, OPEN - 1)).toBe(0);
    expect(admittedCount(pace, OPEN)).toBe(0);
    expect(admittedCount(pace, OPEN + 99)).toBe(0);
    expect(admittedCount(pace, OPEN + 100)).toBe(1);
    expect(admittedCount(pace, OPEN + 2_500)).toBe(25);
    const faster = repaced(pace, 100, OPEN, OPEN + 2_500);
    expect(faster).toEqual({ rate: 100, baseAt: OPEN + 2_500, baseCount: 25 });
    expect(admittedCount(faster, OPEN + 3_500)).toBe(125);
  });

  it('estimates the wait from the places still ahead and the time to the opening', () => {
    const pace = { rate: 10, baseAt: OPEN, baseCount: 0 };
    expect(secondsToWait(pace, 0, OPEN - 3_000)).toBe(4);
    expect(secondsToWait(pace, 99, OPEN)).toBe(10);
    expect(secondsToWait(pace, 5, OPEN + 1_000)).toBe(0);
  });

  const facts = (overrides: Partial<PlaceFacts>): PlaceFacts => ({
    pace: { rate: 10, baseAt: OPEN, baseCount: 0 },
    opensAt: OPEN,
    closed: false,
    rank: 0,
    ...overrides,
  });

  it('admits a place once the count passes its rank, and never before the opening', () => {
    expect(decidePlace(facts({ rank: 0 }), OPEN - 1)).toEqual({ kind: 'hold', state: 'early', ahead: 0, waitS: 1 });
    expect(decidePlace(facts({ rank: 0 }), OPEN + 100)).toEqual({ kind: 'admit' });
    expect(decidePlace(facts({ rank: 1 }), OPEN + 100)).toEqual({ kind: 'hold', state: 'waiting', ahead: 0, waitS: 1 });
    expect(decidePlace(facts({ rank: 30 }), OPEN + 1_000)).toEqual({
      kind: 'hold',
      state: 'waiting',
      ahead: 20,
      waitS: 3,
    });
    expect(decidePlace(facts({ rank: undefined }), OPEN)).toEqual({ kind: 'not_queued' });
  });

  it('tells a closed queue, and an admission given before keeps its own state', () => {
    expect(decidePlace(facts({ rank: 3, closed: true }), OPEN + 100)).toMatchObject({ state: 'closed' });
    const admission = { state: 'issued' as const, expiresAt: OPEN + 60_000 };
    expect(decidePlace(facts({ rank: 3, closed: true, admission }), OPEN + 100)).toEqual({ kind: 'admit' });
    expect(decidePlace(facts({ admission }), OPEN + 60_000)).toMatchObject({ state: 'expired' });
    expect(decidePlace(facts({ admission: { ...admission, state: 'used' } }), OPEN + 100)).toMatchObject({
      state: 'used',
    });
  });
});

describe('adaptedRate', () => {
  const fast = { count: 100, slow: 1, nearlySlow: 1 };
  const slow = { count: 100, slow: 2, nearlySlow: 2 };

  it('halves the pace when more than one reservation in a hundred was slower than the target, and remembers it', () => {
    expect(adaptedRate({ rate: 200, maxRate: 400, cutAt: null }, slow)).toEqual({
      rate: 100,
      maxRate: 400,
      cutAt: 200,
    });
    expect(adaptedRate({ rate: 3, maxRate: 400, cutAt: 6 }, { count: 20, slow: 20, nearlySlow: 20 })).toMatchObject({
      rate: 1,
      cutAt: 3,
    });
    expect(adaptedRate({ rate: 1, maxRate: 400, cutAt: 2 }, { count: 20, slow: 1, nearlySlow: 1 })).toMatchObject({
      rate: 1,
    });
  });

  it('closes in on the pace last cut from by halves, then climbs by a tenth of the highest pace, never past it', () => {
    const paces = [];
    let pace = { rate: 100, maxRate: 400, cutAt: 200 as number | null };
    for (let i = 0; i < 10; i++) paces.push((pace = adaptedRate(pace, fast)).rate);
    expect(paces).toEqual([150, 175, 188, 194, 197, 199, 200, 240, 280, 320]);
    expect(adaptedRate({ rate: 390, maxRate: 400, cutAt: null }, fast).rate).toBe(400);
    expect(adaptedRate({ rate: 4, maxRate: 5, cutAt: null }, { count: 0, slow: 0, nearlySlow: 0 }).rate).toBe(5);
  });

  it('keeps the pace while the p99 is between half the target and the target', () => {
    const near = { count: 100, slow: 1, nearlySlow: 2 };
    expect(adaptedRate({ rate: 150, maxRate: 400, cutAt: 200 }, near)).toEqual({ rate: 150, maxRate: 400, cutAt: 200 });
    expect(adaptedRate({ rate: 150, maxRate: 400, cutAt: null }, near)).toEqual({
      rate: 150,
      maxRate: 400,
      cutAt: null,
    });
    expect(adaptedRate({ rate: 150, maxRate: 400, cutAt: 200 }, { count: 100, slow: 2, nearlySlow: 2 }).rate).toBe(75);
  });
});

describe('ticksBetweenMessages', () => {
  it('tells a place every tick near its turn, then every tenth of its wait, at most every ten ticks', () => {
    expect(ticksBetweenMessages(5, 1_000)).toBe(1);
    expect(ticksBetweenMessages(null, 1_000)).toBe(1);
    expect(ticksBetweenMessages(-3, 1_000)).toBe(1);
    expect(ticksBetweenMessages(45, 1_000)).toBe(4);
    expect(ticksBetweenMessages(3_600, 1_000)).toBe(10);
    expect(ticksBetweenMessages(45, 100)).toBe(10);
  });
});
