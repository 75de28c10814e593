import { STATUS_CODES } from 'node:http';
import { failedBeforeSending } from '@booking/database';
import { BookingSubjects, ErrorCode, fail, namesFor, type BookingNames, type ServiceReply } from '@booking/shared';
import { Catch, HttpException, Inject, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { NatsContext } from '@nestjs/microservices';
import type { FastifyReply } from 'fastify';
import { of, type Observable } from 'rxjs';
import { BOOKING_SERVICE_CONFIG, type BookingServiceConfig } from '../config.js';
import { NotStartedError } from './command-deadline.js';
import { isDatabaseUnavailable, PgErrorCode, postgresErrorCode } from './postgres-errors.js';
import { InvalidPayloadError } from './valid-payload.js';

/** Subjects whose handlers write: a failure there may leave the caller not knowing whether they did. */
const COMMAND_SUBJECTS: ReadonlySet<string> = new Set([
  BookingSubjects.reserve,
  BookingSubjects.reserveBatch,
  BookingSubjects.cancel,
  BookingSubjects.createEvent,
  BookingSubjects.updateEvent,
]);

/**
 * Turns a payload that fails its contract into a `VALIDATION` reply, and an
 * unexpected failure in a handler into an error reply the gateway can map
 * (see `failureReply`). The details stay in this service's log, never in
 * the reply. On the small HTTP listener (health, metrics) errors leave as
 * `{ message, error, statusCode }`.
 */
@Catch()
export class RpcErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('RpcErrorFilter');
  private readonly names: BookingNames;

  constructor(@Inject(BOOKING_SERVICE_CONFIG) config: BookingServiceConfig) {
    this.names = namesFor(config.BOOKING_NAMESPACE);
  }

  catch(error: unknown, host: ArgumentsHost): Observable<ServiceReply<never>> | void {
    if (host.getType() === 'http') return this.replyHttp(error, host.switchToHttp().getResponse<FastifyReply>());
    if (error instanceof InvalidPayloadError) return of(fail({ code: ErrorCode.Validation, message: error.message }));
    const pattern = this.names.requestPattern(host.switchToRpc().getContext<NatsContext>().getSubject());
    return of(failureReply(error, this.logger, COMMAND_SUBJECTS.has(pattern) ? 'command' : 'query'));
  }

  private replyHttp(error: unknown, reply: FastifyReply): void {
    const statusCode = error instanceof HttpException ? error.getStatus() : 500;
    if (statusCode >= 500 && !(error instanceof HttpException)) {
      this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    const message = error instanceof HttpException ? error.message : 'Internal server error';
    void reply.status(statusCode).send({ message, error: STATUS_CODES[statusCode] ?? 'Error', statusCode });
  }
}

/**
 * An unexpected failure as the reply the gateway maps, saying whether anything
 * was written, so that every 5xx the client gets tells the truth:
 *
 * - NotStarted (503): refused before it started (deadline, full queue), or
 *   PostgreSQL refused it for arriving after its deadline; nothing written;
 * - Unavailable (503): PostgreSQL could not be reached, or reported an error
 *   that aborted the statement (timeout, shutdown); nothing written;
 * - OutcomeUnknown (504), commands only: the statement was sent and no answer
 *   came back (connection lost, no answer in time), or the code failed where
 *   it should not; it may have been written;
 * - Internal (500): any other error PostgreSQL reported (a bug); nothing written.
 *
 * The cause is logged here and never put in the reply.
 */
export function failureReply(error: unknown, logger: Logger, kind: 'command' | 'query'): ServiceReply<never> {
  const code = postgresErrorCode(error);
  if (error instanceof NotStartedError) return fail({ code: ErrorCode.NotStarted, message: error.message });
  if (code === PgErrorCode.PastDeadline) {
    return fail({ code: ErrorCode.NotStarted, message: new NotStartedError('deadline').message });
  }
  if (code === PgErrorCode.NotOnSale) {
    // Overtaken again and again by changes of the event's window (see `retryWhenOvertaken`): nothing written.
    return fail({
      code: ErrorCode.Unavailable,
      message: 'The event changed while booking; nothing was done, try again',
    });
  }
  const unsent = failedBeforeSending(error);
  // The driver's own message ("connect ECONNREFUSED …"), not Drizzle's wrapper, which quotes the statement and its parameters.
  const cause = `${rootCauseMessage(error)}${code ? ` (SQLSTATE ${code})` : ''}`;
  const unavailable = unsent || isDatabaseUnavailable(error);
  if (kind === 'command' && code === undefined && !unsent) {
    if (unavailable) logger.warn(`Outcome unknown, the database connection failed: ${cause}`);
    else logger.error(`Outcome unknown, unexpected error: ${cause}`, stackOf(error));
    return fail({
      code: ErrorCode.OutcomeUnknown,
      message: 'The booking database did not confirm the outcome; retry with the same Idempotency-Key to learn it',
    });
  }
  if (unavailable) {
    logger.warn(`Database unavailable: ${cause}`);
    return fail({ code: ErrorCode.Unavailable, message: 'The booking database is unavailable; try again shortly' });
  }
  logger.error(`Unexpected error: ${cause}`, stackOf(error));
  return fail({ code: ErrorCode.Internal, message: 'Internal error in the booking service' });
}

function stackOf(error: unknown): string | undefined {
  const root = rootCause(error);
  return root instanceof Error ? root.stack : undefined;
}

function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof Error && current.cause !== undefined) current = current.cause;
  return current;
}

function rootCauseMessage(error: unknown): string {
  const root = rootCause(error);
  return root instanceof Error ? root.message : String(root);
}
