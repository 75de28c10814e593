import { z } from 'zod';
import { MAX_LIST_SIZE } from './contracts.js';
import { idSchema, storedTextSchema, userIdSchema } from './schemas.js';

export const MAX_TOTAL_SEATS = 1_000_000;
/** The most characters an event's description (`varchar(5000)`) holds. */
export const MAX_DESCRIPTION_LENGTH = 5_000;
/** Rows of a page when the client names no `limit`. */
export const DEFAULT_PAGE_SIZE = 100;

const totalSeatsSchema = z
  .number({
    error: (issue) => (issue.input === undefined ? 'total_seats is required' : 'total_seats must be a number'),
  })
  .int({ error: 'total_seats must be an integer' })
  .min(1, { error: 'total_seats must be at least 1' })
  .max(MAX_TOTAL_SEATS, { error: `total_seats must be at most ${MAX_TOTAL_SEATS}` });

const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * A point in time as ISO 8601 with a zone (`2026-05-01T18:00:00Z`, `…+02:00`), between the years 2000 and
 * 9999; kept as UTC to the millisecond (what the API answers with), so that what is stored is what was meant.
 */
const timeSchema = (field: string) =>
  z
    .string({ error: `${field} must be an ISO 8601 time with a zone, e.g. 2026-05-01T18:00:00Z, or null` })
    .pipe(
      z.iso.datetime({
        offset: true,
        error: `${field} must be an ISO 8601 time with a zone, e.g. 2026-05-01T18:00:00Z, or null`,
      }),
    )
    .transform((value) => new Date(value))
    .refine((time) => time.getTime() >= EARLIEST && time.getTime() <= LATEST, {
      error: `${field} must lie between the years 2000 and 9999`,
    })
    .transform((time) => time.toISOString());

/** An event's optional details; null clears one (an event without a sales window is on sale now). */
const eventDetailFields = {
  starts_at: timeSchema('starts_at').nullable().optional(),
  venue: storedTextSchema('venue').nullable().optional(),
  description: storedTextSchema('description', MAX_DESCRIPTION_LENGTH).nullable().optional(),
  sales_open_at: timeSchema('sales_open_at').nullable().optional(),
  sales_close_at: timeSchema('sales_close_at').nullable().optional(),
};

/** The sales window's times, where known. */
export interface SalesTimes {
  starts_at?: string | null;
  sales_open_at?: string | null;
  sales_close_at?: string | null;
}

/**
 * What is wrong with the order of a sales window's times, or undefined: sales open before they close and
 * before the event starts. (Sales close at the event's start at the latest, whatever `sales_close_at` says.)
 */
export function salesWindowProblem({ starts_at, sales_open_at, sales_close_at }: SalesTimes): string | undefined {
  if (sales_open_at && sales_close_at && sales_open_at >= sales_close_at) {
    return `sales_close_at (${sales_close_at}) must be after sales_open_at (${sales_open_at})`;
  }
  if (sales_open_at && starts_at && sales_open_at >= starts_at) {
    return `sales_open_at (${sales_open_at}) must be before starts_at (${starts_at})`;
  }
  return undefined;
}

const checkSalesWindow = (times: SalesTimes, context: z.RefinementCtx) => {
  const problem = salesWindowProblem(times);
  if (problem) context.addIssue({ code: 'custom', message: problem });
};

/** `POST /api/events` and `event.create`. */
export const createEventSchema = z
  .object({ name: storedTextSchema('name'), total_seats: totalSeatsSchema, ...eventDetailFields })
  .superRefine(checkSalesWindow);
export type CreateEventCommand = z.infer<typeof createEventSchema>;

/**
 * `PATCH /api/events/:id`: the fields to change, at least one; any other key is refused rather than
 * ignored (a misspelt field would otherwise change nothing and say so with a 200).
 */
export const eventChangesSchema = z
  .strictObject(
    { name: storedTextSchema('name').optional(), total_seats: totalSeatsSchema.optional(), ...eventDetailFields },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `Unknown field(s) ${issue.keys.join(', ')}: an event's name, total_seats, starts_at, venue, description, sales_open_at and sales_close_at may be changed`
          : undefined,
    },
  )
  .refine((changes) => Object.keys(changes).length > 0, {
    error: 'Name at least one field to change',
    // Not on top of an unknown field's issue, which says it all.
    when: (payload) => payload.issues.length === 0,
  })
  .superRefine(checkSalesWindow);
export type EventChanges = z.infer<typeof eventChangesSchema>;

/**
 * `event.update`, as the gateway sends it: a change of an event's fields, or closing its sales now (on
 * the database's clock). `actor` is the admin who asked (the token's subject), recorded in `event.updated`.
 */
export const updateEventCommandSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('change'), id: idSchema('id'), actor: userIdSchema, changes: eventChangesSchema }),
  z.object({ kind: z.literal('close_sales'), id: idSchema('id'), actor: userIdSchema }),
]);
export type UpdateEventCommand = z.infer<typeof updateEventCommandSchema>;

/** Rows the booking service answers a paged list with: a page, and one more to tell whether another follows. */
export const pageLimitSchema = z
  .number()
  .int()
  .min(1)
  .max(MAX_LIST_SIZE + 1, { error: `limit must be at most ${MAX_LIST_SIZE + 1}` });

/**
 * `event.list`: events by id, after `after_id`, at most `limit` (MAX_LIST_SIZE without one), those that
 * match every filter given. `upcoming`: has not started (an event without a start time has not);
 * `on_sale`: its sales window is open now and a seat is left; `sold_out`: no seat is left.
 */
export const listEventsSchema = z.object({
  limit: pageLimitSchema.optional(),
  after_id: idSchema('after_id').optional(),
  upcoming: z.boolean().optional(),
  on_sale: z.boolean().optional(),
  sold_out: z.boolean().optional(),
});
export type ListEventsQuery = z.infer<typeof listEventsSchema>;

/** A cursor for the page after the row with id `id`: opaque to clients, who pass on what `Next-Cursor` gave. */
export const encodeCursor = (id: number): string =>
  btoa(JSON.stringify({ after: id }))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replaceAll('=', '');

/** The text `encodeCursor` made, decoded (atob and btoa: in browsers too); throws on anything else. */
const decodeCursor = (text: string): unknown => JSON.parse(atob(text.replaceAll('-', '+').replaceAll('_', '/')));

const CURSOR_ERROR = 'cursor must be a Next-Cursor value from an earlier page';

/** `cursor` as sent (the text of `encodeCursor`), as the id the page starts after. */
const cursorSchema = z
  .string({
    error: (issue) => (Array.isArray(issue.input) ? 'cursor must be given once' : CURSOR_ERROR),
  })
  .max(100, { error: CURSOR_ERROR })
  .transform((text, context) => {
    try {
      const after = (decodeCursor(text) as { after?: unknown } | null)?.after;
      if (Number.isSafeInteger(after) && encodeCursor(after as number) === text) return after as number;
    } catch {
      // Reported below.
    }
    context.addIssue({ code: 'custom', message: CURSOR_ERROR });
    return z.NEVER;
  })
  .pipe(idSchema('cursor'));

const limitFromTextSchema = z
  .string({ error: (issue) => (Array.isArray(issue.input) ? 'limit must be given once' : 'limit must be a number') })
  .regex(/^\d{1,4}$/, { error: `limit must be an integer from 1 to ${MAX_LIST_SIZE}` })
  .transform(Number)
  .pipe(
    z
      .number()
      .min(1, { error: `limit must be an integer from 1 to ${MAX_LIST_SIZE}` })
      .max(MAX_LIST_SIZE, {
        error: `limit must be an integer from 1 to ${MAX_LIST_SIZE}`,
      }),
  );

const flagFromText = (field: string) =>
  z
    .enum(['true', 'false'], {
      error: (issue) => (Array.isArray(issue.input) ? `${field} must be given once` : `${field} must be true or false`),
    })
    .transform((value) => value === 'true');

/** Paging of a list by query string: `limit` rows after `cursor`. */
export const pageQueryStringSchema = z.object({
  limit: limitFromTextSchema.optional(),
  cursor: cursorSchema.optional(),
});
export type PageQuery = z.infer<typeof pageQueryStringSchema>;

/** `GET /api/events`'s query string: paging and filters. */
export const listEventsQueryStringSchema = pageQueryStringSchema.extend({
  upcoming: flagFromText('upcoming').optional(),
  on_sale: flagFromText('on_sale').optional(),
  sold_out: flagFromText('sold_out').optional(),
});
export type ListEventsQueryString = z.infer<typeof listEventsQueryStringSchema>;
