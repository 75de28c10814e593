import { HttpException, HttpStatus, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isUnlimitedPath } from './rate-limit.hook.js';
import { rateLimitHeaders, RateLimitService } from './rate-limit.service.js';

/** The per-user limit; runs after AuthGuard, so it counts verified token subjects, never claimed ones. */
@Injectable()
export class UserRateLimitGuard implements CanActivate {
  constructor(private readonly limits: RateLimitService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    await limitUser(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.limits);
    return true;
  }
}

/** Counts a request against its verified user's limit (none for anonymous requests); a 429 beyond it. */
export async function limitUser(request: FastifyRequest, reply: FastifyReply, limits: RateLimitService): Promise<void> {
  if (!limits.enabled || !request.principal || isUnlimitedPath(request.url)) return;
  const decision = await limits.consume('user', request.principal.sub);
  // The tighter of the two limits is the one the client should see.
  if (!decision.allowed || decision.remaining < Number(reply.getHeader('ratelimit-remaining') ?? Infinity)) {
    void reply.headers(rateLimitHeaders(decision));
  }
  if (!decision.allowed) {
    throw new HttpException(
      `Too many requests for user ${request.principal.sub}; retry in ${decision.resetSeconds} s`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
