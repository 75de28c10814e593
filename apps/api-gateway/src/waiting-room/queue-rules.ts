import type { QueueState } from '@booking/shared';

/**
 * The waiting room's rules, free of Redis and HTTP.
 *
 * Fairness: a client who joins before sales open gets a random place among the early arrivals (its score is
 * drawn uniformly from [0, 1)), so arriving first before the doors open gives nothing; from the opening on,
 * places are given in arrival order (scores 1, 2, 3… from a counter), behind every early arrival. The join
 * script (queue-scripts.ts) applies `placing` atomically, on Redis's clock.
 *
 * Pace: admission walks down the queue at `rate` places per second from `baseAt` (sales opening, or when the
 * room was switched on if later), starting `baseCount` places in (a change of pace keeps the count reached).
 * The count is a function of time alone, so every gateway replica computes the same one from the same
 * Redis clock, a restart loses nothing, and a place is admitted once its rank falls below it. After the
 * opening a place's rank never changes (no early arrival can be drawn any more and later ones queue
 * behind), so the count reached is never taken back.
 */
export interface Pace {
  /** Admissions per second. */
  rate: number;
  /** Epoch ms from which admission runs. */
  baseAt: number;
  /** Places already admitted at `baseAt`. */
  baseCount: number;
}

export type Placing = 'early' | 'arrival';

/**
 * How a new arrival is placed: early (random) only while sales have not opened and nobody has yet been
 * placed in arrival order or admitted; `opensAt` 0 means no sales window (open).
 */
export function placing(now: number, opensAt: number, arrivalsPlaced: boolean): Placing {
  return opensAt > 0 && now < opensAt && !arrivalsPlaced ? 'early' : 'arrival';
}

/** How many places from the head are admitted at `now`. */
export function admittedCount(pace: Pace, now: number): number {
  if (now < pace.baseAt) return pace.baseCount;
  return pace.baseCount + Math.floor(((now - pace.baseAt) * pace.rate) / 1000);
}

/** The pace after a change of rate or opening time at `now`: the count reached is kept. */
export function repaced(current: Pace | undefined, rate: number, opensAt: number, now: number): Pace {
  const baseCount = current ? admittedCount(current, now) : 0;
  return { rate, baseAt: Math.max(now, opensAt), baseCount };
}

/** Seconds until a place of 0-based `rank` is admitted, or 0 if it is. */
export function secondsToWait(pace: Pace, rank: number, now: number): number {
  const admitted = admittedCount(pace, now);
  if (rank < admitted) return 0;
  const startsIn = Math.max(0, pace.baseAt - now) / 1000;
  // The place is admitted when the count passes rank + 1.
  const placesToGo = rank + 1 - admitted;
  return Math.ceil(startsIn + placesToGo / pace.rate);
}

/** Where a client stands, as read from Redis at `now` (its own record included). */
export interface PlaceFacts {
  pace: Pace;
  opensAt: number;
  closed: boolean;
  /** 0-based rank in the queue; undefined when not in it. */
  rank: number | undefined;
  /** The admission given to this client, if any: its state and expiry (epoch ms). */
  admission?: { state: 'issued' | 'claimed' | 'used'; expiresAt: number };
}

export type PlaceDecision =
  { kind: 'admit' } | { kind: 'hold'; state: QueueState; ahead: number; waitS: number | null } | { kind: 'not_queued' };

/**
 * What to tell a client about its place: its admission if it has one, an admission if its turn has come
 * and the queue is open, else how many are ahead and how long it is likely to wait.
 */
export function decidePlace(facts: PlaceFacts, now: number): PlaceDecision {
  const { admission, rank, pace } = facts;
  if (admission) {
    if (admission.state === 'used') return { kind: 'hold', state: 'used', ahead: 0, waitS: null };
    if (admission.expiresAt <= now) return { kind: 'hold', state: 'expired', ahead: 0, waitS: null };
    return { kind: 'admit' };
  }
  if (rank === undefined) return { kind: 'not_queued' };
  if (facts.closed) return { kind: 'hold', state: 'closed', ahead: 0, waitS: null };
  const admitted = admittedCount(pace, now);
  if (rank < admitted && now >= facts.opensAt) return { kind: 'admit' };
  const state = placing(now, facts.opensAt, false) === 'early' ? 'early' : 'waiting';
  return { kind: 'hold', state, ahead: Math.max(0, rank - admitted), waitS: secondsToWait(pace, rank, now) };
}

/** The most ticks a waiting place's live stream lets pass without a message (well within proxies' idle limits). */
export const MAX_QUIET_TICKS = 10;

/**
 * Ticks between two messages on a live stream whose place is not yet due: every tick near its turn (or the
 * opening), then a tenth of the wait, up to MAX_QUIET_TICKS. The wait shown moves little meanwhile, and each
 * message costs its gateway a write; a crowd far from its turn is told its place a few times a minute.
 */
export function ticksBetweenMessages(waitS: number | null, tickMs: number): number {
  if (waitS === null) return 1;
  return Math.min(MAX_QUIET_TICKS, Math.max(1, Math.floor((waitS * 1000) / tickMs / 10)));
}

/**
 * Reservations of a room over a while: how many, how many took longer than its latency target, and how many
 * took longer than half of it.
 */
export interface LatencySample {
  count: number;
  slow: number;
  nearlySlow: number;
}

/** An adaptive pace: where it is, how high it may go, and the pace it was last cut from (null: never). */
export interface AdaptivePaceState {
  rate: number;
  maxRate: number;
  cutAt: number | null;
}

/** More than one reservation in a hundred over a bound: their p99 is above it. */
const p99Above = (over: number, count: number): boolean => over * 100 > count;

/**
 * An adaptive pace's next value, from the reservations since it was last judged: halved when their p99 is
 * above the target, remembering the pace that was too fast; kept while it is between half the target and
 * the target; else raised, by half the way back to the pace last cut from while below it, and by a tenth of
 * the highest pace beyond it, up to the highest. Latency climbs steeply once the booking path is near what
 * it can take, so the pace stops climbing at the first sign of it (half the target) rather than at the
 * target, where each overshoot would already cost a second of slow reservations. Cutting hard keeps an
 * overloaded booking path from staying overloaded; the count already admitted is kept either way
 * (`repaced`).
 */
export function adaptedRate({ rate, maxRate, cutAt }: AdaptivePaceState, sample: LatencySample): AdaptivePaceState {
  if (p99Above(sample.slow, sample.count)) return { rate: Math.max(1, Math.floor(rate / 2)), maxRate, cutAt: rate };
  if (p99Above(sample.nearlySlow, sample.count)) return { rate, maxRate, cutAt };
  const step = cutAt !== null && rate < cutAt ? Math.ceil((cutAt - rate) / 2) : Math.round(maxRate / 10);
  return { rate: Math.min(maxRate, rate + Math.max(1, step)), maxRate, cutAt };
}
