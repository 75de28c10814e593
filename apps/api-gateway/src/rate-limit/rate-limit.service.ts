import type { GatewayMetrics } from '@booking/observability';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { GATEWAY_METRICS } from '../metrics/gateway-metrics.module.js';
import { GATEWAY_CONFIG, redisKeyPrefix, type GatewayConfig } from '../config.js';
import { RedisAvailability } from '../redis/redis-availability.js';
import { LeasedWindowLimiter, type WindowDecision } from './leased-window-limiter.js';

export type RateLimitScope = 'ip' | 'user';

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets (and, when refused, until a retry can succeed). */
  resetSeconds: number;
  windowSeconds: number;
}

interface ScopeLimiter {
  shared: LeasedWindowLimiter;
  /** Used only while Redis is unavailable: the same limits, counted by this replica alone. */
  local: RateLimiterMemory;
}

/**
 * Fixed-window counters in Redis, shared by every gateway replica: one limit
 * per client IP, one per authenticated user. Replicas take points from Redis
 * in leases (`LeasedWindowLimiter`), so a busy key costs a few Redis calls a
 * second, not one per request.
 *
 * Policy when Redis is unavailable (down, or stalled: `RedisAvailability`
 * then refuses at once, so only requests that met the first timeout wait):
 * fail open to a per-replica in-memory limit with the same numbers (so the
 * whole fleet allows at most N replicas × limit) and count the fallback.
 * Refusing every request during a Redis outage would turn a cache failure into
 * a full outage, and the booking guarantees (no oversell, no double booking)
 * live in PostgreSQL, not here.
 */
@Injectable()
export class RateLimitService implements OnModuleDestroy {
  private readonly limiters: Record<RateLimitScope, ScopeLimiter>;
  /** Counters for monitoring (exposed by the metrics module). */
  readonly counters = { rejected: { ip: 0, user: 0 }, redisFallbacks: 0 };

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    redis: RedisAvailability,
    @Inject(GATEWAY_METRICS) private readonly metrics: GatewayMetrics,
  ) {
    const build = (scope: RateLimitScope, points: number): ScopeLimiter => {
      const keyPrefix = `${redisKeyPrefix(config)}rl:${scope}`;
      const windowSeconds = config.RATE_LIMIT_WINDOW_S;
      return {
        shared: new LeasedWindowLimiter(redis, { points, windowSeconds, keyPrefix }),
        local: new RateLimiterMemory({ points, duration: windowSeconds, keyPrefix }),
      };
    };
    this.limiters = { ip: build('ip', config.RATE_LIMIT_IP_MAX), user: build('user', config.RATE_LIMIT_USER_MAX) };
  }

  onModuleDestroy(): void {
    this.limiters.ip.shared.dispose();
    this.limiters.user.shared.dispose();
  }

  get enabled(): boolean {
    return this.config.RATE_LIMIT_ENABLED;
  }

  /**
   * Takes one point of `scope`'s limit for `key`. Decided at once, without a
   * promise, while this replica's lease of the window has points left (nearly
   * every request of a busy client); otherwise after Redis answered, or after
   * counting locally when it could not.
   */
  consume(scope: RateLimitScope, key: string): RateLimitDecision | Promise<RateLimitDecision> {
    const limiter = this.limiters[scope];
    const decision = limiter.shared.consume(key);
    if (!(decision instanceof Promise)) return this.decided(scope, decision);
    return decision.then(
      (fromRedis) => this.decided(scope, fromRedis),
      async () => {
        this.counters.redisFallbacks++;
        return this.decided(scope, await consumeLocally(limiter.local, key));
      },
    );
  }

  private decided(scope: RateLimitScope, decision: WindowDecision): RateLimitDecision {
    if (!decision.allowed) {
      this.counters.rejected[scope]++;
      this.metrics.rateLimitRejections.inc({ limit: scope });
    }
    return {
      allowed: decision.allowed,
      limit: this.limiters[scope].shared.points,
      remaining: decision.remaining,
      resetSeconds: Math.max(1, Math.ceil(decision.msBeforeReset / 1000)),
      windowSeconds: this.config.RATE_LIMIT_WINDOW_S,
    };
  }
}

async function consumeLocally(limiter: RateLimiterMemory, key: string): Promise<WindowDecision> {
  try {
    const result = await limiter.consume(key);
    return { allowed: true, remaining: result.remainingPoints, msBeforeReset: result.msBeforeNext };
  } catch (refusal) {
    const result = refusal as RateLimiterRes;
    return { allowed: false, remaining: result.remainingPoints, msBeforeReset: result.msBeforeNext };
  }
}

/** IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers), plus Retry-After when refused. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'ratelimit-limit': String(decision.limit),
    'ratelimit-remaining': String(decision.remaining),
    'ratelimit-reset': String(decision.resetSeconds),
    'ratelimit-policy': `${decision.limit};w=${decision.windowSeconds}`,
  };
  if (!decision.allowed) headers['retry-after'] = String(decision.resetSeconds);
  return headers;
}
