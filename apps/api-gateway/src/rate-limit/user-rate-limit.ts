import { HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { rateLimitHeaders, type RateLimitService } from './rate-limit.service.js';

/**
 * Counts a request against its verified user's limit (the token's subject,
 * never a claimed user id); a 429 beyond it.
 */
export async function limitUser(principal: Principal, reply: FastifyReply, limits: RateLimitService): Promise<void> {
  const decision = await limits.consume('user', principal.sub);
  // The tighter of the two limits is the one the client should see.
  if (!decision.allowed || decision.remaining < Number(reply.getHeader('ratelimit-remaining') ?? Infinity)) {
    void reply.headers(rateLimitHeaders(decision));
  }
  if (!decision.allowed) {
    throw new HttpException(
      `Too many requests for user ${principal.sub}; retry in ${decision.resetSeconds} s`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
