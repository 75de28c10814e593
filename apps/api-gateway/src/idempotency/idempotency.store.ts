import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { REDIS } from '../redis/redis.module.js';

export interface StoredResponse {
  status: number;
  body: unknown;
}

type IdempotencyRecord = { fingerprint: string } & ({ state: 'pending' } | ({ state: 'done' } & StoredResponse));

export type Claim =
  | { outcome: 'claimed' }
  | { outcome: 'replay'; response: StoredResponse }
  | { outcome: 'mismatch' }
  | { outcome: 'in-progress' };

/**
 * Idempotency records in Redis: `SET NX` claims a key for the first request
 * (a short-lived "pending" record), the outcome then replaces it for
 * IDEMPOTENCY_TTL_S. Keys are scoped by caller, so two users cannot collide.
 */
@Injectable()
export class IdempotencyStore {
  private readonly pendingTtlMs: number;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    // Long enough to outlive the request; if the gateway dies mid-request the key frees itself.
    this.pendingTtlMs = config.NATS_REQUEST_TIMEOUT_MS * 2 + 5_000;
  }

  /** How long a duplicate waits for the first request's outcome. */
  get waitMs(): number {
    return this.config.NATS_REQUEST_TIMEOUT_MS + 2_000;
  }

  redisKey(caller: string, key: string): string {
    return `${this.config.REDIS_KEY_PREFIX}idem:${sha256(caller)}:${sha256(key)}`;
  }

  async claim(redisKey: string, fingerprint: string): Promise<Claim> {
    const pending: IdempotencyRecord = { fingerprint, state: 'pending' };
    for (;;) {
      const set = await this.redis.set(redisKey, JSON.stringify(pending), 'PX', this.pendingTtlMs, 'NX');
      if (set === 'OK') return { outcome: 'claimed' };
      const raw = await this.redis.get(redisKey);
      if (raw === null) continue; // expired between the two calls: claim again
      const record = JSON.parse(raw) as IdempotencyRecord;
      if (record.fingerprint !== fingerprint) return { outcome: 'mismatch' };
      if (record.state === 'pending') return { outcome: 'in-progress' };
      return { outcome: 'replay', response: { status: record.status, body: record.body } };
    }
  }

  async complete(redisKey: string, fingerprint: string, response: StoredResponse): Promise<void> {
    const record: IdempotencyRecord = { fingerprint, state: 'done', ...response };
    await this.redis.set(redisKey, JSON.stringify(record), 'EX', this.config.IDEMPOTENCY_TTL_S);
  }

  /** Frees the key after a transient failure, so the client's retry runs again. */
  async release(redisKey: string): Promise<void> {
    await this.redis.del(redisKey);
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url');

/** A digest of what makes two requests "the same": method, path with query, and the body with keys sorted. */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  return sha256(`${method} ${url}\n${canonicalJson(body)}`);
}

// Hand-written: a dozen lines, where a library would add a dependency for one function.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
