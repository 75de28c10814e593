import type { RedisAvailability } from '../redis/redis-availability.js';

export interface WindowDecision {
  allowed: boolean;
  /** Points this key has left in the window, as far as this replica can tell. */
  remaining: number;
  /** Milliseconds until the window ends. */
  msBeforeReset: number;
}

export interface LeasedWindowLimiterOptions {
  /** Requests allowed per key and window, across all replicas. */
  points: number;
  windowSeconds: number;
  /** Redis key of a counter: `${keyPrefix}:${key}`. */
  keyPrefix: string;
}

/**
 * Adds ARGV[1] points to a window counter, creating it with a lifetime of
 * ARGV[2] ms; returns the count after the addition and the window's remaining
 * milliseconds.
 */
const TAKE_POINTS_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}`;

/** One key's window as this replica knows it. */
interface KeyWindow {
  /** Points taken from Redis and not yet handed out. */
  tokens: number;
  /** The window's count in Redis after this replica's last lease (every replica's points). */
  count: number;
  endsAt: number;
  /** Points of the leases on their way. */
  leasing: number;
  /** Size of the next lease: one point at first, doubling with each lease of the window. */
  nextLease: number;
  waiters: ((decision: WindowDecision | Error) => void)[];
}

/**
 * A fixed-window limit shared by every gateway replica through one Redis
 * counter per key, that asks Redis once per lease instead of once per request.
 *
 * A replica takes points from the counter in leases and hands them out
 * locally. A lease starts at one point and doubles each time it is used up,
 * up to `points / 64`: limits of 64 or fewer are counted one request at a
 * time, exactly as a plain counter; a key hit thousands of times a second
 * costs a few Redis calls a second. Once the window's count reaches the limit
 * the replica refuses that key locally until the window ends.
 *
 * The limit is never exceeded across replicas: a lease that crosses it is
 * granted only the points below it. The price is that points leased by one
 * replica and not used are unavailable to the others until the window ends,
 * at most `points / 64` per replica and key. No library does this:
 * rate-limiter-flexible makes one Redis round trip, and a promise chain, per
 * request.
 *
 * A lease's failure (Redis away: refused at once while `RedisAvailability`
 * has it marked down) rejects the requests waiting for it; the caller decides
 * the policy.
 */
export class LeasedWindowLimiter {
  readonly points: number;
  private readonly windowMs: number;
  private readonly maxLease: number;
  private readonly windows = new Map<string, KeyWindow>();
  private readonly takePoints: (key: string, points: number, windowMs: number) => Promise<[number, number]>;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    redis: RedisAvailability,
    private readonly options: LeasedWindowLimiterOptions,
  ) {
    this.points = options.points;
    this.windowMs = options.windowSeconds * 1000;
    this.maxLease = Math.max(1, Math.floor(options.points / 64));
    this.takePoints = redis.defineScript<[number, number]>('takeRateLimitPoints', 1, TAKE_POINTS_SCRIPT);
    // Forget windows that ended, so that many one-off keys (IPs) do not pile up.
    this.sweeper = setInterval(() => this.forgetEnded(), this.windowMs).unref();
  }

  /** Takes one point for `key`; rejects when the point had to come from Redis and Redis failed. */
  consume(key: string): Promise<WindowDecision> | WindowDecision {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || (window.endsAt <= now && window.leasing === 0)) {
      window = { tokens: 0, count: 0, endsAt: now + this.windowMs, leasing: 0, nextLease: 1, waiters: [] };
      this.windows.set(key, window);
    }
    if (window.tokens > 0 && window.endsAt > now) {
      window.tokens -= 1;
      return this.allowed(window, now);
    }
    if (window.count >= this.points && window.endsAt > now && window.leasing === 0) return this.refused(window, now);
    return new Promise((resolve, reject) => {
      window.waiters.push((decision) => (decision instanceof Error ? reject(decision) : resolve(decision)));
      this.leaseFor(key, window);
    });
  }

  dispose(): void {
    clearInterval(this.sweeper);
  }

  /** Starts leases until the points on their way cover every waiting request. */
  private leaseFor(key: string, window: KeyWindow): void {
    while (window.waiters.length > window.leasing) {
      const size = Math.min(this.maxLease, Math.max(window.waiters.length - window.leasing, window.nextLease));
      window.leasing += size;
      window.nextLease = Math.min(this.maxLease, window.nextLease * 2);
      const startedAt = Date.now();
      this.takePoints(`${this.options.keyPrefix}:${key}`, size, this.windowMs).then(
        ([count, ttlMs]) => {
          window.leasing -= size;
          this.granted(window, size, count, startedAt + ttlMs);
          this.settle(window);
          if (window.waiters.length > 0 && window.count < this.points) this.leaseFor(key, window);
        },
        (error: unknown) => {
          window.leasing -= size;
          this.settle(window, error instanceof Error ? error : new Error(String(error)));
        },
      );
    }
  }

  /** Adds a lease's points: those below the limit, and only for the window they were taken in. */
  private granted(window: KeyWindow, size: number, count: number, endsAt: number): void {
    // The window ends at the counter's expiry as measured from when the lease was sent: never later than Redis.
    if (window.count === 0) {
      window.endsAt = endsAt;
    } else if (endsAt > window.endsAt + this.windowMs / 2) {
      // A new window in Redis: what is left of the old one's points does not carry over.
      Object.assign(window, { tokens: 0, count: 0, endsAt, nextLease: 1 });
    }
    window.count = Math.max(window.count, count);
    window.tokens += Math.max(0, Math.min(size, this.points - (count - size)));
  }

  /** Answers the waiting requests from the tokens, or refuses them once the window is used up. */
  private settle(window: KeyWindow, failure?: Error): void {
    const now = Date.now();
    while (window.waiters.length > 0) {
      if (failure) {
        window.waiters.shift()!(failure);
      } else if (window.tokens > 0) {
        window.tokens -= 1;
        window.waiters.shift()!(this.allowed(window, now));
      } else if (window.count >= this.points && window.leasing === 0) {
        window.waiters.shift()!(this.refused(window, now));
      } else {
        return;
      }
    }
  }

  private allowed(window: KeyWindow, now: number): WindowDecision {
    return {
      allowed: true,
      remaining: Math.max(0, this.points - window.count + window.tokens),
      msBeforeReset: Math.max(0, window.endsAt - now),
    };
  }

  private refused(window: KeyWindow, now: number): WindowDecision {
    return { allowed: false, remaining: 0, msBeforeReset: Math.max(0, window.endsAt - now) };
  }

  private forgetEnded(): void {
    const now = Date.now();
    for (const [key, window] of this.windows) {
      if (window.endsAt <= now && window.leasing === 0 && window.waiters.length === 0) this.windows.delete(key);
    }
  }
}
