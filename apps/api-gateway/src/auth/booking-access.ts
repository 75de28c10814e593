import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  BookingEventType,
  ErrorMessages,
  type BookingHistoryView,
  type BookingView,
  type ListBookingsQuery,
} from '@booking/shared';
import {
  applyDecorators,
  BadRequestException,
  createParamDecorator,
  Inject,
  Injectable,
  NotFoundException,
  UnauthorizedException,
  type ExecutionContext,
} from '@nestjs/common';
import { ApiResponse, ApiSecurity } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config.js';
import { bookingViewSchema } from '../docs/api-schemas.js';
import { routePolicy } from '../pipeline/route-policy.js';
import { assertMayActAs, assertMayRead, isAdmin, type Principal } from './principal.js';

/** Carries a booking's access key: on the reservation's 201, and on the requests that read or cancel it. */
export const BOOKING_ACCESS_KEY_HEADER = 'booking-access-key';
/** The name of the key's security scheme in the OpenAPI document. */
export const BOOKING_ACCESS_KEY_SCHEME = 'bookingAccessKey';
/** base64url of an HMAC-SHA256. */
const KEY_FORMAT = /^[A-Za-z0-9_-]{43}$/;
/** Part of every signed message, so a change of what is signed can never make an old key open a booking. */
const KEY_VERSION = 'booking-access:v1';

/** Who asks for a booking: a verified token, the booking's access key, both or neither. */
export interface BookingCaller {
  principal?: Principal;
  accessKey?: string;
}

/** What decides whose a booking is. A history whose booking was not made through the API lacks the last two. */
export type BookingOwnership = Pick<BookingView, 'id' | 'user_id'> &
  Partial<Pick<BookingView, 'event_id' | 'created_at'>>;

/**
 * Who may read, list and cancel which booking, in every AUTH_MODE:
 *
 * - an admin token: every booking;
 * - a user token: the bookings of its own `sub` (another user's booking: 403);
 * - the booking's access key: that booking only. The key is an HMAC with
 *   BOOKING_ACCESS_SECRET over the booking's fields that never change (id,
 *   event, user, creation time), returned once in the header
 *   `Booking-Access-Key` of the reservation's 201. It is stateless, so every
 *   gateway replica checks it and an idempotent replay of the reservation
 *   carries it again; binding the fields, not only the id, keeps it from
 *   opening a later booking that reuses the id (after a database reset);
 * - neither: 401 before anything is looked up, and a key that does not open
 *   the booking gets the same 404 as a booking that does not exist, so an
 *   anonymous caller learns nothing about other people's bookings.
 *
 * Listing needs a token: a list cannot be proven to be one's own with a key.
 */
@Injectable()
export class BookingAccess {
  private readonly secret: Buffer;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.secret = Buffer.from(config.BOOKING_ACCESS_SECRET);
  }

  /** The key that opens `booking`. */
  keyFor(booking: Pick<BookingView, 'id' | 'event_id' | 'user_id' | 'created_at'>): string {
    const signed = JSON.stringify([
      KEY_VERSION,
      booking.id,
      booking.event_id,
      booking.user_id,
      Date.parse(booking.created_at),
    ]);
    return createHmac('sha256', this.secret).update(signed).digest('base64url');
  }

  /** Before any lookup: a caller without a token or a key is refused, whether the booking exists or not. */
  requireCredential(caller: BookingCaller): void {
    if (!caller.principal && caller.accessKey === undefined) {
      throw new UnauthorizedException(
        'Send Authorization: Bearer <token>, or the Booking-Access-Key header returned when the booking was made',
      );
    }
  }

  /** After the lookup: the owner (by token or key) or an admin may go on; anyone else is refused. */
  authorize(caller: BookingCaller, booking: BookingOwnership, action: 'read' | 'cancel'): void {
    const { principal, accessKey } = caller;
    if (isAdmin(principal) || principal?.sub === booking.user_id) return;
    if (accessKey !== undefined && this.opens(accessKey, booking)) return;
    // A user token keeps its 403 (it learns that the booking exists, not what it holds); anyone else gets a 404.
    if (principal) (action === 'read' ? assertMayRead : assertMayActAs)(principal, booking.user_id);
    throw new NotFoundException(ErrorMessages.bookingNotFound(booking.id));
  }

  /** The list a caller may see: an admin any, a user their own (by default and only), an anonymous caller none. */
  listQuery(principal: Principal | undefined, query: ListBookingsQuery): ListBookingsQuery {
    if (!principal) {
      throw new UnauthorizedException(
        'Listing bookings needs Authorization: Bearer <token>; a booking made without one is read with GET /api/bookings/:id and its Booking-Access-Key',
      );
    }
    if (isAdmin(principal)) return query;
    const userId = query.user_id ?? principal.sub;
    assertMayRead(principal, userId);
    return { ...query, user_id: userId };
  }

  private opens(accessKey: string, { id, event_id, user_id, created_at }: BookingOwnership): boolean {
    if (event_id === undefined || created_at === undefined) return false;
    const expected = Buffer.from(this.keyFor({ id, event_id, user_id, created_at }));
    const given = Buffer.from(accessKey);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** Whose booking a history is about: its `booking.created` event, written in the same statement as the booking. */
export function ownershipOfHistory(history: BookingHistoryView): BookingOwnership {
  const created = history.events.find((event) => event.type === BookingEventType.created);
  if (created?.type === BookingEventType.created) {
    const { booking_id: id, event_id, user_id, created_at } = created.data;
    return { id, event_id, user_id, created_at };
  }
  // A booking written behind the API's back (an operator's SQL) has no creation event, and no key was ever issued for it.
  const { data } = history.events[0]!;
  // (Only events of bookings carry a booking id; an organiser's event.updated names no user.)
  return { id: history.booking_id, user_id: 'user_id' in data ? data.user_id : '' };
}

/** The caller's token (verified by the request pipeline) and the Booking-Access-Key header, checked for shape (400 otherwise). */
export const CurrentBookingCaller = createParamDecorator((_data: unknown, context: ExecutionContext): BookingCaller => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  const header = request.headers[BOOKING_ACCESS_KEY_HEADER];
  if (header !== undefined && (typeof header !== 'string' || !KEY_FORMAT.test(header))) {
    throw new BadRequestException(
      'Booking-Access-Key must be the 43-character key returned in that header when the booking was made',
    );
  }
  return { principal: request.principal, accessKey: header };
});

/** Documents that a route accepts the Booking-Access-Key as well as a bearer token. */
export const AcceptsBookingAccessKey = () => ApiSecurity(BOOKING_ACCESS_KEY_SCHEME);

/** The route's 201 is a booking, sent with its access key (by `registerBookingAccessKeyHeader`), and documented so. */
export const IssuesBookingAccessKey = () =>
  applyDecorators(
    routePolicy({ issuesBookingAccessKey: true }),
    ApiResponse({
      status: 201,
      description: 'Booked',
      standardSchema: bookingViewSchema,
      headers: {
        'Booking-Access-Key': {
          description:
            'Opens this booking alone: send it in the same header to read, cancel and see the history of it without a token. Keep it secret; it is sent only here (and on an idempotent replay of this request).',
          schema: { type: 'string', pattern: KEY_FORMAT.source },
        },
      },
    }),
  );

/**
 * Adds the access key to the 201 of the routes marked `IssuesBookingAccessKey`,
 * computed from the body about to be sent: a replayed response (Idempotency-Key)
 * gets it as the first one did, without the key being stored anywhere.
 */
export function registerBookingAccessKeyHeader(fastify: FastifyInstance, access: BookingAccess): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode === 201 && request.routeOptions.config.issuesBookingAccessKey && typeof payload === 'string') {
      void reply.header(BOOKING_ACCESS_KEY_HEADER, access.keyFor(JSON.parse(payload) as BookingView));
    }
    done(null, payload);
  });
}
