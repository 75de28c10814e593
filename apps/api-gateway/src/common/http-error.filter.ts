import { STATUS_CODES } from 'node:http';
import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OutcomeUnknownException } from './outcome-unknown.exception.js';
import { describeFastifyError } from './request-parsing.js';
import { RetryLaterException } from './retry-later.exception.js';

export interface ErrorBody {
  message: string;
  error: string;
  statusCode: number;
  /** Only on a 504 for a command: it may or may not have been carried out (see OutcomeUnknownException). */
  outcome?: 'unknown';
}

const logger = new Logger('HttpErrorFilter');

/**
 * Every error leaves the gateway as `{ message, error, statusCode }`, including
 * the ones Fastify raises before a route runs (malformed JSON, 413, 415). An
 * unexpected error, or any 500 (also one reported by the booking service), is
 * logged and answered "Internal server error": internals never reach a client.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendHttpError(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }
}

/** Answers `request` with `exception` as the filter above describes; also used by the request pipeline's hooks. */
export function sendHttpError(exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (!(exception instanceof HttpException) || exception.getStatus() === HttpStatus.INTERNAL_SERVER_ERROR) {
    logger.error({
      correlationId: request.id,
      msg: exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    });
  }
  const body = toErrorBody(exception);
  // Fastify's own client errors (415, 413, ...) arrive wrapped by Nest; say plainly what was wrong.
  const cause = exception instanceof HttpException ? exception.cause : undefined;
  if (cause instanceof Error && 'code' in cause) {
    body.message = describeFastifyError(cause as { code: string; message: string }, request.headers['content-type']);
  }
  if (exception instanceof RetryLaterException) void reply.header('retry-after', String(exception.retryAfterSeconds));
  if (exception instanceof OutcomeUnknownException) body.outcome = 'unknown';
  if (body.statusCode === HttpStatus.UNAUTHORIZED) {
    // RFC 6750: tell the client which scheme to use and why the token was refused.
    const description = body.message.replace(/["\\]/g, "'");
    void reply.header(
      'www-authenticate',
      `Bearer realm="event-booking", error="invalid_token", error_description="${description}"`,
    );
  }
  void reply.status(body.statusCode).send(body);
}

/** The error body for any thrown value: an HttpException's own status and message, a bare 500 otherwise. */
function toErrorBody(exception: unknown): ErrorBody {
  if (exception instanceof HttpException && exception.getStatus() !== HttpStatus.INTERNAL_SERVER_ERROR) {
    const statusCode = exception.getStatus();
    const response = exception.getResponse();
    const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
    const message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : exception.message;
    return { message, error: STATUS_CODES[statusCode] ?? 'Error', statusCode };
  }
  const statusCode = HttpStatus.INTERNAL_SERVER_ERROR;
  return { message: 'Internal server error', error: STATUS_CODES[statusCode]!, statusCode };
}
