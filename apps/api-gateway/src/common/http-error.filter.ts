import { STATUS_CODES } from 'node:http';
import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

export interface ErrorBody {
  message: string;
  error: string;
  statusCode: number;
}

/**
 * Every error leaves the gateway as `{ message, error, statusCode }`, including
 * the ones Fastify raises before a route runs (malformed JSON, 413, 415). An
 * unexpected error is logged and answered 500 without internals.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const body = this.toBody(exception);
    void reply.status(body.statusCode).send(body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      const message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : exception.message;
      return { message, error: STATUS_CODES[statusCode] ?? 'Error', statusCode };
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    const statusCode = HttpStatus.INTERNAL_SERVER_ERROR;
    return { message: 'Internal server error', error: STATUS_CODES[statusCode]!, statusCode };
  }
}
