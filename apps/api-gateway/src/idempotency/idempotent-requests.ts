import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  applyDecorators,
  createParamDecorator,
  BadRequestException,
  ConflictException,
  Logger,
  UnprocessableEntityException,
  type ExecutionContext,
} from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BOOKING_ACCESS_KEY_HEADER } from '../auth/booking-access.js';
import { RetryLaterException } from '../common/retry-later.exception.js';
import { routePolicy } from '../pipeline/route-policy.js';
import { RedisUnavailableError } from '../redis/redis-availability.js';
import { IdempotencyStore, requestFingerprint, type Claim, type StoredResponse } from './idempotency.store.js';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
const IDEMPOTENT_METHODS = new Set(['POST', 'DELETE']);
const VALID_KEY = /^[\x21-\x7e]{1,255}$/;
const POLL_MS = 25;
const logger = new Logger('Idempotency');

interface IdempotencyClaim {
  redisKey: string;
  fingerprint: string;
  /** Names this request's claim in Redis: only it may complete or release the record. */
  token: string;
  /** The id of an earlier request with this key whose outcome is unknown: this one resumes it. */
  resumes?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The Idempotency-Key this request claimed; its outcome is stored when the response is sent. */
    idempotencyClaim?: IdempotencyClaim;
  }
}

/**
 * `Idempotency-Key` on the POST and DELETE routes marked `@Idempotent()`:
 * the first request runs and its status and body are stored; a repeat with the
 * same key and request gets them back without running again (header
 * `Idempotent-Replayed: true`); a repeat with a different request gets 422;
 * a repeat while the first is still running waits for its outcome. Transient
 * failures (5xx) are not stored, so a retry with the same key runs again.
 *
 * The request pipeline admits the request here (after authentication, so keys
 * are scoped by the verified caller) and sends a replay itself;
 * `registerIdempotencyRecorder` stores the outcome. Requests without a key
 * pass at once, without a promise.
 *
 * When Redis is unavailable, a request that carries a key is refused with 503
 * (at once while `RedisAvailability` has it marked down): the client asked for
 * at-most-once execution, which cannot be promised then.
 */
export function admitIdempotent(
  request: FastifyRequest,
  store: IdempotencyStore,
): Promise<StoredResponse | undefined> | undefined {
  const key = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (!IDEMPOTENT_METHODS.has(request.method) || key === undefined) return undefined;
  if (typeof key !== 'string' || !VALID_KEY.test(key)) {
    throw new BadRequestException('Idempotency-Key must be 1-255 visible ASCII characters');
  }
  return admit(request, key, store);
}

/** Claims the key for this request (undefined), or returns the stored response to replay. */
async function admit(
  request: FastifyRequest,
  key: string,
  store: IdempotencyStore,
): Promise<StoredResponse | undefined> {
  const redisKey = store.redisKey(callerOf(request), key);
  const fingerprint = requestFingerprint(request.method, request.url, request.body);
  const token = randomUUID();
  const claim = await claimOrWait(store, redisKey, fingerprint, token);
  if (claim.outcome === 'mismatch') {
    throw new UnprocessableEntityException('Idempotency-Key was already used for a different request');
  }
  if (claim.outcome === 'in-progress') {
    throw new ConflictException('A request with this Idempotency-Key is still being processed; retry later');
  }
  if (claim.outcome === 'replay') return claim.response;
  request.idempotencyClaim = { redisKey, fingerprint, token, resumes: claim.resumes };
  return undefined;
}

/** Claims the key, or waits while another request holds it, up to the store's wait limit. */
async function claimOrWait(
  store: IdempotencyStore,
  redisKey: string,
  fingerprint: string,
  token: string,
): Promise<Claim> {
  const deadline = Date.now() + store.waitMs;
  try {
    for (;;) {
      const claim = await store.claim(redisKey, fingerprint, token);
      if (claim.outcome !== 'in-progress' || Date.now() > deadline) return claim;
      await sleep(POLL_MS);
    }
  } catch (error) {
    // Redis being away is logged once, by RedisAvailability; anything else here is worth a line.
    if (!(error instanceof RedisUnavailableError)) {
      logger.warn(`Idempotency store failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    throw new RetryLaterException(
      'Idempotency-Key cannot be honoured right now (store unavailable); retry shortly',
      503,
      1,
    );
  }
}

/**
 * Whose record a key names: the verified token's subject, and the booking access
 * key when one is sent, so a replay goes only to a caller holding the same
 * credentials. (An anonymous reservation carries neither: its Idempotency-Key
 * alone scopes it, so it must be unguessable.)
 */
function callerOf(request: FastifyRequest): string {
  const caller = request.principal?.sub ?? 'anonymous';
  const accessKey = request.headers[BOOKING_ACCESS_KEY_HEADER];
  return accessKey === undefined ? caller : `${caller}\u0000${String(accessKey)}`;
}

/**
 * Stores the outcome of a request that claimed a key, success or refusal, just
 * before it is sent (so a waiting repeat sees it as soon as the client does).
 * A 504 whose outcome is unknown is stored as such, with the id of the request
 * that may have carried the command out: the retry resumes it and learns the
 * real outcome (a booking that request made is its 201, not a 409). Any other
 * 5xx did nothing and frees the key, so a retry runs again.
 */
export function registerIdempotencyRecorder(fastify: FastifyInstance, store: IdempotencyStore): void {
  const record = async (claim: IdempotencyClaim, requestId: string, status: number, payload: unknown) => {
    try {
      const body: unknown = typeof payload === 'string' && payload !== '' ? JSON.parse(payload) : null;
      const { fingerprint } = claim;
      if ((body as { outcome?: unknown } | null)?.outcome === 'unknown') {
        const request_id = claim.resumes ?? requestId;
        await store.complete(claim.redisKey, claim.token, { fingerprint, state: 'unknown', request_id });
      } else if (status >= 500) await store.release(claim.redisKey, claim.token);
      else await store.complete(claim.redisKey, claim.token, { fingerprint, state: 'done', status, body });
    } catch (error) {
      // The pending record expires on its own (a failed release is retried when Redis answers again);
      // the response itself is still correct.
      logger.warn(`Could not store idempotent response: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  // A callback hook: responses without a claim, nearly all of them, pass without a promise.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const claim = request.idempotencyClaim;
    if (!claim) return done(null, payload);
    request.idempotencyClaim = undefined;
    void record(claim, request.id, reply.statusCode, payload).then(() => done(null, payload));
  });
}

/**
 * The id of the earlier request with the same Idempotency-Key whose outcome is
 * unknown, which this request resumes; undefined for a first attempt. A command
 * handler sends it to the booking service as `retry_of` (and as the request id,
 * so that whichever attempt did the work, it carries that one id).
 */
export const ResumedRequest = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string | undefined =>
    context.switchToHttp().getRequest<FastifyRequest>().idempotencyClaim?.resumes,
);

/** Accepts `Idempotency-Key` on a POST or DELETE route, and documents it. Every such route carries it (a test checks). */
export const Idempotent = () =>
  applyDecorators(
    routePolicy({ idempotent: true }),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Up to 255 visible ASCII characters. A repeat with the same key returns the stored response (header Idempotent-Replayed: true) without running again.',
    }),
  );
