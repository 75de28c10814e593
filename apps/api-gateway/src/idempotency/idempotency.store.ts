import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { GATEWAY_CONFIG, redisKeyPrefix, type GatewayConfig } from '../config.js';
import { RedisAvailability, RedisUnavailableError } from '../redis/redis-availability.js';

export interface StoredResponse {
  status: number;
  body: unknown;
}

/**
 * The JSON stored under a key: a request's claim while it runs (`token` names
 * the claim; `resumes`, the request it takes over from), then its outcome:
 * `done` with the response to replay, or `unknown` when the answer was a 504
 * that could not tell whether the command was carried out (`request_id` names
 * the request that may have done it).
 */
export type IdempotencyRecord = { fingerprint: string } & (
  | { state: 'pending'; token: string; resumes?: string }
  | ({ state: 'done' } & StoredResponse)
  | { state: 'unknown'; request_id: string }
);

/** What a request's claim finished as: a response to replay, or "outcome unknown" (see IdempotencyRecord). */
export type Finished = Extract<IdempotencyRecord, { state: 'done' | 'unknown' }>;

export type Claim =
  /** The key is this request's; `resumes` names an earlier request of the key whose outcome is unknown. */
  | { outcome: 'claimed'; resumes?: string }
  | { outcome: 'replay'; response: StoredResponse }
  | { outcome: 'mismatch' }
  | { outcome: 'in-progress' };

/** Lua: true when the stored record `raw` is the pending claim named by `token`. */
const IS_CLAIM = `
local function is_claim(raw, token)
  if not raw then return false end
  local ok, record = pcall(cjson.decode, raw)
  return ok and type(record) == 'table' and record.token == token
end
`;

/**
 * Claims KEYS[1] with the pending record ARGV[1] for ARGV[2] ms, unless the
 * key holds a record (returned), or Redis's clock is past ARGV[3], the time
 * (ms since the epoch) at which the gateway stops waiting for the answer: a
 * claim that arrives that late, after a stalled network path delivered it,
 * belongs to a request that was already answered 503. A record whose outcome
 * is unknown, for the same request (fingerprint ARGV[4]), is taken over: the
 * claim notes which request it resumes.
 */
const CLAIM_SCRIPT = `
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[3]) then
  return {'late'}
end
local existing = redis.call('GET', KEYS[1])
if existing then
  local ok, record = pcall(cjson.decode, existing)
  if not (ok and type(record) == 'table' and record.state == 'unknown' and record.fingerprint == ARGV[4]) then
    return {'exists', existing}
  end
  local claim = cjson.decode(ARGV[1])
  claim.resumes = record.request_id
  redis.call('SET', KEYS[1], cjson.encode(claim), 'PX', ARGV[2])
  return {'resumed', record.request_id}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'claimed'}`;

/** Stores the outcome ARGV[2] for ARGV[3] s if KEYS[1] is still the claim ARGV[1], or has expired. */
const COMPLETE_SCRIPT = `${IS_CLAIM}
local raw = redis.call('GET', KEYS[1])
if raw and not is_claim(raw, ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

/** Deletes KEYS[1] if it is still the claim ARGV[1]. */
const RELEASE_SCRIPT = `${IS_CLAIM}
if not is_claim(redis.call('GET', KEYS[1]), ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

/**
 * Idempotency records in Redis. The first request claims a key with a
 * short-lived pending record carrying a token of its own; its outcome then
 * replaces the record for IDEMPOTENCY_TTL_S. Keys are scoped by caller, so two
 * users cannot collide.
 *
 * Every operation is a Lua script, so a command that reaches Redis late (a
 * stalled path delivers it after the gateway gave up) cannot do harm: a late
 * claim is refused by Redis's clock, and completing or releasing touches the
 * record only while it is still this request's claim, never another's. A claim
 * whose answer never came (it may have been made just before the stall) and a
 * release that failed are released, by token, as soon as Redis answers again,
 * so no claim of a request that was never run blocks the client's retry.
 */
@Injectable()
export class IdempotencyStore {
  private readonly pendingTtlMs: number;
  private readonly keyPrefix: string;
  private readonly claimScript;
  private readonly completeScript;
  private readonly releaseScript;
  /** Claims this gateway gave up on, by token: their key and when, released once Redis answers again. */
  private readonly abandoned = new Map<string, { redisKey: string; at: number }>();

  constructor(
    redis: RedisAvailability,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    // Long enough to outlive the request; if the gateway dies mid-request the key frees itself.
    this.pendingTtlMs = config.NATS_REQUEST_TIMEOUT_MS * 2 + 5_000;
    this.keyPrefix = redisKeyPrefix(config);
    this.claimScript = redis.defineScript<[string, string?]>('claimIdempotencyKey', 1, CLAIM_SCRIPT);
    this.completeScript = redis.defineScript<number>('completeIdempotencyKey', 1, COMPLETE_SCRIPT);
    this.releaseScript = redis.defineScript<number>('releaseIdempotencyKey', 1, RELEASE_SCRIPT);
    redis.onChange((available) => {
      if (available) void this.releaseAbandoned();
    });
  }

  /** How long a duplicate waits for the first request's outcome. */
  get waitMs(): number {
    return this.config.NATS_REQUEST_TIMEOUT_MS + 2_000;
  }

  redisKey(caller: string, key: string): string {
    return `${this.keyPrefix}idem:${sha256(caller)}:${sha256(key)}`;
  }

  /** Claims `redisKey` for the request whose claim is named `token`, or says what holds it. */
  async claim(redisKey: string, fingerprint: string, token: string): Promise<Claim> {
    const pending: IdempotencyRecord = { fingerprint, state: 'pending', token };
    const deadline = Date.now() + this.config.REDIS_COMMAND_TIMEOUT_MS;
    let reply: [string, string?];
    try {
      reply = await this.claimScript(redisKey, JSON.stringify(pending), this.pendingTtlMs, deadline, fingerprint);
    } catch (error) {
      if (error instanceof RedisUnavailableError && error.commandSent) this.abandon(redisKey, token);
      throw error;
    }
    const [outcome, raw] = reply;
    if (outcome === 'late') {
      throw new Error('the claim reached Redis after its deadline (is the clock of this host or of Redis off?)');
    }
    if (outcome === 'claimed') return { outcome: 'claimed' };
    if (outcome === 'resumed') return { outcome: 'claimed', resumes: raw };
    const record = JSON.parse(raw!) as IdempotencyRecord;
    if (record.fingerprint !== fingerprint) return { outcome: 'mismatch' };
    // An unknown outcome of the same request is resumed by the script; another request's is a mismatch above.
    if (record.state !== 'done') return { outcome: 'in-progress' };
    return { outcome: 'replay', response: { status: record.status, body: record.body } };
  }

  /** Replaces this request's claim with how it finished (unless another request's record is there by now). */
  async complete(redisKey: string, token: string, finished: Finished): Promise<void> {
    await this.completeScript(redisKey, token, JSON.stringify(finished), this.config.IDEMPOTENCY_TTL_S);
  }

  /** Frees the key after a transient failure, so the client's retry runs again. */
  async release(redisKey: string, token: string): Promise<void> {
    try {
      await this.releaseScript(redisKey, token);
    } catch (error) {
      if (error instanceof RedisUnavailableError) this.abandon(redisKey, token);
      throw error;
    }
  }

  private abandon(redisKey: string, token: string): void {
    this.abandoned.set(token, { redisKey, at: Date.now() });
  }

  private async releaseAbandoned(): Promise<void> {
    for (const [token, { redisKey, at }] of this.abandoned) {
      // Past the pending TTL the claim has expired by itself.
      if (Date.now() - at < this.pendingTtlMs) {
        try {
          await this.releaseScript(redisKey, token);
        } catch {
          return; // Redis went away again: the next recovery releases the rest
        }
      }
      this.abandoned.delete(token);
    }
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
