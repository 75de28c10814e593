import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * A 504 for a command whose outcome the gateway cannot know: it was sent and
 * no answer came back (no reply in time, the connection lost, the database's
 * answer lost). Its body says `"outcome": "unknown"`; a retry with the same
 * Idempotency-Key gets the real outcome. Every other 5xx means nothing was done.
 */
export class OutcomeUnknownException extends HttpException {
  constructor(message: string) {
    super(message, HttpStatus.GATEWAY_TIMEOUT);
  }
}
