import { ErrorCode, fail, type ServiceReply } from '@booking/shared';
import { Catch, Logger, type ExceptionFilter } from '@nestjs/common';
import { of, type Observable } from 'rxjs';
import { isDatabaseUnavailable } from './postgres-errors.js';

/**
 * Turns an unexpected failure in a handler into an error reply the gateway can
 * map: 503 when PostgreSQL is unreachable (worth retrying), 500 otherwise. The
 * details stay in this service's log, never in the reply.
 */
@Catch()
export class RpcErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('RpcErrorFilter');

  catch(error: unknown): Observable<ServiceReply<never>> {
    if (isDatabaseUnavailable(error)) {
      this.logger.warn(`Database unavailable: ${error instanceof Error ? error.message : String(error)}`);
      return of(
        fail({ code: ErrorCode.Unavailable, message: 'The booking database is unavailable; try again shortly' }),
      );
    }
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return of(fail({ code: ErrorCode.Internal, message: 'Internal error in the booking service' }));
  }
}
