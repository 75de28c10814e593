import { DEFAULT_PAGE_SIZE, encodeCursor, type PageQuery } from '@booking/shared';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Headers of a paged list's next page (exposed to pages of other origins too, see CORS_ORIGINS). */
export const NEXT_CURSOR_HEADER = 'next-cursor';
export const LINK_HEADER = 'link';

/** The rows a page asks the booking service for: one more than it shows, to learn whether another follows. */
export const rowsToAsk = (query: PageQuery): number => (query.limit ?? DEFAULT_PAGE_SIZE) + 1;

/**
 * A page of `rows` (asked for with `rowsToAsk`): the first `limit` of them and, when there were more,
 * `Next-Cursor` and `Link: <…>; rel="next"` (this request's URL with the next cursor) on the reply. The
 * body stays the array a list has always been.
 */
export function pageOf<T extends { id: number }>(
  rows: readonly T[],
  query: PageQuery,
  request: FastifyRequest,
  reply: FastifyReply,
): T[] {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  if (rows.length <= limit) return [...rows];
  const page = rows.slice(0, limit);
  const cursor = encodeCursor(page.at(-1)!.id);
  const next = new URL(request.url, 'http://gateway');
  next.searchParams.set('cursor', cursor);
  void reply.header(NEXT_CURSOR_HEADER, cursor).header(LINK_HEADER, `<${next.pathname}${next.search}>; rel="next"`);
  return page;
}

/** The paging headers, as the OpenAPI document describes them. */
export const PAGE_HEADERS = {
  'Next-Cursor': {
    description: 'Only when another page follows: the `cursor` to ask for it with',
    schema: { type: 'string' as const },
  },
  Link: {
    description: 'Only when another page follows: `<URL of the next page>; rel="next"`',
    schema: { type: 'string' as const },
  },
};
