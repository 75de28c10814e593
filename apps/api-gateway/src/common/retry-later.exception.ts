import { HttpException } from '@nestjs/common';

/** A 429 or 503 that tells the client when to try again (sent as `Retry-After`). */
export class RetryLaterException extends HttpException {
  constructor(
    message: string,
    status: 429 | 503,
    readonly retryAfterSeconds: number,
  ) {
    super(message, status);
  }
}
