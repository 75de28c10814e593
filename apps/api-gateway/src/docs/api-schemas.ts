import {
  bookingEventSchema,
  type BookingHistoryView,
  type BookingView,
  type CancelledBookingView,
  type EventView,
  type IdentityView,
  type WaitlistEntryView,
} from '@booking/shared';
import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import type { ErrorBody } from '../common/http-error.filter.js';

// Response shapes for the OpenAPI document, checked against the shared view types
// so a contract change that is not documented here fails to compile.

export const errorBodySchema = z
  .object({
    message: z.string().meta({ example: 'event_id must be a positive integer' }),
    error: z.string().meta({ example: 'Bad Request' }),
    statusCode: z.number().int().meta({ example: 400 }),
    outcome: z.literal('unknown').optional().meta({
      description:
        'Only on a 504 for a reservation or cancellation: it may or may not have been carried out. Retry with the same Idempotency-Key to learn the outcome.',
    }),
  })
  .meta({ id: 'Error' }) satisfies z.ZodType<ErrorBody>;

export const bookingViewSchema = z
  .object({
    id: z.number().int(),
    event_id: z.number().int(),
    user_id: z.string(),
    created_at: z.iso.datetime(),
  })
  .meta({ id: 'Booking' }) satisfies z.ZodType<BookingView>;

export const cancelledBookingViewSchema = bookingViewSchema
  .extend({ cancelled_at: z.iso.datetime() })
  .meta({ id: 'CancelledBooking' }) satisfies z.ZodType<CancelledBookingView>;

export const bookingHistoryViewSchema = z
  .object({
    booking_id: z.number().int(),
    status: z.enum(['active', 'cancelled']),
    events: z.array(bookingEventSchema),
  })
  .meta({ id: 'BookingHistory' }) satisfies z.ZodType<BookingHistoryView>;

const timeOrNull = (description: string) => z.iso.datetime().nullable().meta({ description });

export const eventViewSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    total_seats: z.number().int(),
    booked_seats: z.number().int(),
    available_seats: z.number().int(),
    starts_at: timeOrNull('When the event starts; sales close then at the latest'),
    venue: z.string().nullable(),
    description: z.string().nullable(),
    sales_open_at: timeOrNull('When sales open; null: on sale from the creation'),
    sales_close_at: timeOrNull('When sales close; null: until the event starts (for good without starts_at)'),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: 'Event' }) satisfies z.ZodType<EventView>;

export const waitlistEntryViewSchema = z
  .object({
    event_id: z.number().int(),
    user_id: z.string(),
    position: z.number().int().min(1).meta({ description: 'Place in line: 1 gets the next seat freed' }),
    joined_at: z.iso.datetime(),
  })
  .meta({ id: 'WaitlistEntry' }) satisfies z.ZodType<WaitlistEntryView>;

export const identityViewSchema = z
  .object({
    sub: z.string().meta({ example: 'admin' }),
    roles: z.array(z.string()).meta({ example: ['admin'] }),
  })
  .meta({ id: 'Identity' }) satisfies z.ZodType<IdentityView>;

export const healthSchema = z.object({ status: z.literal('ok') });

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; the message names each bad field',
  401: 'A token (or, for one booking, its Booking-Access-Key) is needed and missing, or the bearer token is malformed, expired or otherwise invalid',
  403: "The token does not allow this (another user's booking, or not an admin)",
  404: 'No such resource (for a booking: also when the Booking-Access-Key sent does not open it; for a waitlist place: not in line)',
  409: 'Conflict (already booked, sold out, sales not open yet or closed, seats to book rather than wait for, already in line, a change the event does not allow, or the same Idempotency-Key still running)',
  413: 'Body larger than BODY_LIMIT_BYTES',
  415: 'Body is not application/json',
  422: 'Idempotency-Key already used for a different request',
  429: 'Rate limit exceeded; see Retry-After and RateLimit-* headers',
  503: 'Nothing was done: booking service or its database unavailable, not started before its deadline, circuit open or gateway at capacity; retry after Retry-After',
  504: 'No answer in time. For a reservation or cancellation the body says "outcome": "unknown": it may have been carried out; retry with the same Idempotency-Key to learn the outcome',
};

/** The error statuses a route documents: its own, and those every route can give. */
const withCommonErrors = (statuses: number[]): number[] => [...new Set([...statuses, 429, 503])];

/** Documents the error responses a route can give, all in the `{ message, error, statusCode }` shape. */
export const ApiErrors = (...statuses: number[]) =>
  applyDecorators(
    ...withCommonErrors(statuses).map((status) =>
      ApiResponse({ status, description: ERROR_DESCRIPTIONS[status], standardSchema: errorBodySchema }),
    ),
  );
