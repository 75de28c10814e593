import { BookingSubjects, idParamsSchema, type EventView } from '@booking/shared';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { authenticate } from '../auth/auth.guard.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import { BookingClient } from '../booking-client/booking-client.js';
import { sendHttpError } from '../common/http-error.filter.js';
import { parseOrReject } from '../common/zod-validation.pipe.js';
import { errorResponses, jsonResponse, pathParameters } from '../docs/api-schemas.js';
import { RateLimitService } from '../rate-limit/rate-limit.service.js';
import { limitUser } from '../rate-limit/user-rate-limit.guard.js';

/**
 * `GET /api/events/:id`, the read a crowd repeats while it waits for seats, as
 * a plain Fastify route instead of a Nest controller method: Nest's router,
 * guards and pipes took about a fifth of the gateway's CPU per read and a
 * third of what a read allocated (docs/performance.md). The route does what
 * they do, with the same functions: a bearer token, when sent, must be valid
 * and counts against its user's rate limit (the route is public, also with
 * AUTH_MODE=required); the id is checked by the shared schema; errors leave as
 * every other error does. The Fastify hooks (request id, security headers,
 * IP rate limit, metrics) apply to it as to every route.
 */
@Injectable()
export class EventLookupRoute implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly bookingService: BookingClient,
    private readonly verifier: TokenVerifier,
    private readonly limits: RateLimitService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.get('/api/events/:id', { errorHandler: sendHttpError }, (request, reply) => this.lookup(request, reply));
  }

  private async lookup(request: FastifyRequest, reply: FastifyReply): Promise<EventView> {
    if (request.headers.authorization !== undefined) {
      await authenticate(request, this.verifier);
      await limitUser(request, reply, this.limits);
    }
    const params = parseOrReject(idParamsSchema, request.params);
    return this.bookingService.query(BookingSubjects.getEvent, params, request.id);
  }
}

/** Its OpenAPI entry, which Nest cannot derive from a route it did not register. */
export function documentEventLookup(document: OpenAPIObject): void {
  document.paths['/api/events/{id}'] = {
    get: {
      operationId: 'getEvent',
      summary: 'One event with seats left',
      tags: ['events'],
      parameters: pathParameters(idParamsSchema),
      responses: { 200: jsonResponse('Event'), ...errorResponses(400, 404, 504) },
    },
  };
}
