import { createHash } from 'node:crypto';
import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { routePolicy } from '../pipeline/route-policy.js';

/** A GET route answered conditionally (below), documented as such. */
export const ConditionalGet = () =>
  applyDecorators(
    routePolicy({ conditional: true }),
    ApiHeader({ name: 'If-None-Match', required: false, description: 'The ETag of a copy the client holds' }),
    ApiResponse({ status: 304, description: 'Not modified: the copy named by If-None-Match is current' }),
  );

/**
 * Conditional GETs on the routes whose config says `conditional`: a 200 gets a
 * weak `ETag` (a hash of its body) and `Cache-Control: no-cache` (a cache may
 * keep it but asks again, with `If-None-Match`, before using it), and a
 * request whose `If-None-Match` names the current tag gets a 304 without a
 * body. Written here rather than taken from @fastify/etag, which tags every
 * response, errors and POSTs included, and answers 304 whatever the status.
 */
export function registerConditionalGets(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode !== 200 || request.routeOptions.config?.conditional !== true || typeof payload !== 'string') {
      return done(null, payload);
    }
    const tag = `W/"${createHash('sha1').update(payload).digest('base64url')}"`;
    void reply.header('etag', tag).header('cache-control', 'no-cache');
    if (!matches(request.headers['if-none-match'], tag)) return done(null, payload);
    void reply.code(304).removeHeader('content-type').removeHeader('content-length');
    done(null, '');
  });
}

/** `If-None-Match`'s weak comparison (RFC 9110 13.1.2): `*`, or any listed tag with the same opaque part. */
function matches(ifNoneMatch: string | undefined, tag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const opaque = tag.slice(2);
  return ifNoneMatch.split(',').some((listed) => {
    const trimmed = listed.trim();
    return trimmed === '*' || (trimmed.startsWith('W/') ? trimmed.slice(2) : trimmed) === opaque;
  });
}
