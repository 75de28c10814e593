import { z } from 'zod';
import { MAX_LIST_SIZE } from './contracts.js';

const MAX_INT32 = 2_147_483_647;

/** A positive PostgreSQL `integer` (serial id). */
export const idSchema = (field: string) =>
  z
    .number({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a number`) })
    .int({ error: `${field} must be an integer` })
    .min(1, { error: `${field} must be a positive integer` })
    .max(MAX_INT32, { error: `${field} must be at most ${MAX_INT32}` });

/** The most characters a stored text (`varchar(255)`) holds. */
const MAX_TEXT_LENGTH = 255;

/**
 * Text stored exactly as sent in a `varchar(255)` column (user ids, event names).
 * It must be well-formed Unicode: a lone surrogate would reach PostgreSQL as
 * U+FFFD, so two different ids would be stored as one. Its length is counted in
 * code points, as PostgreSQL counts `varchar(255)`, not in UTF-16 units as
 * JavaScript's `length` does (an emoji is one character, not two). The documented
 * `maxLength` means the same: JSON Schema counts code points too.
 */
export const storedTextSchema = (field: string, maxLength = MAX_TEXT_LENGTH) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a string`) })
    .refine((value) => !/\p{Surrogate}/u.test(value), {
      error: `${field} must be well-formed Unicode (it contains a lone surrogate)`,
    })
    .refine((value) => [...value].length <= maxLength, {
      error: `${field} must be at most ${maxLength} characters (Unicode code points)`,
    })
    .refine((value) => value.trim().length > 0, { error: `${field} must not be empty` })
    .refine((value) => !value.includes('\u0000'), { error: `${field} must not contain NUL characters` })
    .meta({ maxLength });

export const userIdSchema = storedTextSchema('user_id');

export const reserveBookingSchema = z.object({
  event_id: idSchema('event_id'),
  user_id: userIdSchema,
});
export type ReserveBookingCommand = z.infer<typeof reserveBookingSchema>;

/**
 * The id of an earlier request whose outcome its caller never heard (the
 * gateway answered 504): a retry carrying it gets that request's booking or
 * cancellation if it happened. Set by the gateway from its idempotency record,
 * never taken from a client.
 */
const retryOfSchema = z.string().min(1).max(255).optional();

/** `booking.reserve`, as the gateway sends it. */
export const reserveCommandSchema = reserveBookingSchema.extend({ retry_of: retryOfSchema });
export type ReserveCommand = z.infer<typeof reserveCommandSchema>;

/** The most reservations one `booking.reserve.batch` message may carry. */
export const MAX_RESERVATIONS_PER_MESSAGE = 256;

/**
 * `booking.reserve.batch`: the reservations a gateway received together, each
 * with the request id it goes by. Each command is validated on its own, so a
 * bad one is refused alone; the reply lists one answer per reservation, in order.
 */
export const reserveBatchSchema = z.object({
  reservations: z
    .array(z.object({ request_id: z.string().optional(), command: z.unknown().optional() }), {
      error: 'reservations must be an array of { request_id, command }',
    })
    .min(1, { error: 'reservations must not be empty' })
    .max(MAX_RESERVATIONS_PER_MESSAGE, {
      error: `reservations must hold at most ${MAX_RESERVATIONS_PER_MESSAGE} items`,
    }),
});
export type ReserveBatchCommand = z.infer<typeof reserveBatchSchema>;

/** `waitlist.join`, `waitlist.get`, `waitlist.leave`: a user on an event's waitlist. */
export const waitlistCommandSchema = reserveBookingSchema;
export type WaitlistCommand = ReserveBookingCommand;

/** The body of `POST /api/events/:id/waitlist`. */
export const joinWaitlistBodySchema = z.object({ user_id: userIdSchema });

export const getByIdSchema = z.object({ id: idSchema('id') });
export type GetByIdQuery = z.infer<typeof getByIdSchema>;

/** The most events one `event.seats` query asks about. */
export const MAX_EVENTS_PER_SEATS_QUERY = 1_000;
/** Seats left of several events; unknown ids are left out of the answer. */
export const seatsQuerySchema = z.object({
  ids: z
    .array(idSchema('ids[]'))
    .min(1, { error: 'ids must name at least one event' })
    .max(MAX_EVENTS_PER_SEATS_QUERY, { error: `ids must name at most ${MAX_EVENTS_PER_SEATS_QUERY} events` }),
});
export type SeatsQuery = z.infer<typeof seatsQuerySchema>;

/** `booking.cancel`, as the gateway sends it. */
export const cancelCommandSchema = getByIdSchema.extend({ retry_of: retryOfSchema });
export type CancelCommand = z.infer<typeof cancelCommandSchema>;

/**
 * `booking.list`: bookings by id, of a user and/or an event, after `after_id` (a page's last), at most
 * `limit` (without one, MAX_LIST_SIZE: the contract's list).
 */
export const listBookingsSchema = z.object({
  user_id: userIdSchema.optional(),
  event_id: idSchema('event_id').optional(),
  after_id: idSchema('after_id').optional(),
  // A page and one more row (see `pageLimitSchema`).
  limit: z
    .number()
    .int()
    .min(1)
    .max(MAX_LIST_SIZE + 1)
    .optional(),
});
export type ListBookingsQuery = z.infer<typeof listBookingsSchema>;

/**
 * Validates `input` against `schema`; on failure returns one readable sentence
 * naming every offending field, e.g. "event_id must be an integer; user_id is required".
 */
export function validate<T>(
  schema: z.ZodType<T>,
  input: unknown,
): { success: true; data: T } | { success: false; message: string } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { success: false, message: 'Request body must be a JSON object' };
  }
  const result = schema.safeParse(input);
  if (result.success) return { success: true, data: result.data };
  const messages = [...new Set(result.error.issues.map((issue) => issue.message))];
  return { success: false, message: messages.join('; ') };
}

/** An id that arrives as text (path segment or query string), e.g. "42". */
export const idFromTextSchema = (field: string) =>
  z
    .string({
      error: (issue) =>
        Array.isArray(issue.input) ? `${field} must be given once` : `${field} must be a positive integer`,
    })
    .regex(/^\d{1,10}$/, { error: `${field} must be a positive integer` })
    .transform(Number)
    .pipe(idSchema(field));

export const listBookingsQueryStringSchema = z.object({
  user_id: userIdSchema.optional(),
  event_id: idFromTextSchema('event_id').optional(),
});

/** `:id` route parameters. */
export const idParamsSchema = z.object({ id: idFromTextSchema('id') });

/** `:id/waitlist/:user_id` route parameters. */
export const waitlistParamsSchema = z.object({ id: idFromTextSchema('id'), user_id: userIdSchema });
