import { STATUS_CODES } from 'node:http';
import { ErrorCode, fail, type ServiceReply } from '@booking/shared';
import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { of, type Observable } from 'rxjs';
import { isDatabaseUnavailable, postgresErrorCode } from './postgres-errors.js';

/**
 * Turns an unexpected failure in a handler into an error reply the gateway can
 * map: 503 when PostgreSQL is unreachable (worth retrying), 500 otherwise. The
 * details stay in this service's log, never in the reply. On the small HTTP
 * listener (health, metrics) errors leave as `{ message, error, statusCode }`.
 */
@Catch()
export class RpcErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('RpcErrorFilter');

  catch(error: unknown, host: ArgumentsHost): Observable<ServiceReply<never>> | void {
    if (host.getType() === 'http') return this.replyHttp(error, host.switchToHttp().getResponse<FastifyReply>());
    return of(failureReply(error, this.logger));
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
 * An unexpected failure as the reply the gateway maps: Unavailable (503, worth
 * retrying) when PostgreSQL is unreachable, Internal (500) otherwise, with the
 * cause logged here and never put in the reply.
 */
export function failureReply(error: unknown, logger: Logger): ServiceReply<never> {
  if (isDatabaseUnavailable(error)) {
    // The driver's own message ("connect ECONNREFUSED …"), not Drizzle's wrapper, which quotes the statement and its parameters.
    logger.warn(`Database unavailable: ${rootCauseMessage(error)}`);
    return fail({ code: ErrorCode.Unavailable, message: 'The booking database is unavailable; try again shortly' });
  }
  // The root cause and its SQLSTATE, for the same reason.
  const code = postgresErrorCode(error);
  const root = rootCause(error);
  logger.error(
    `Unexpected error: ${rootCauseMessage(error)}${code ? ` (SQLSTATE ${code})` : ''}`,
    root instanceof Error ? root.stack : undefined,
  );
  return fail({ code: ErrorCode.Internal, message: 'Internal error in the booking service' });
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
