import { HTTP_STATUS_BY_ERROR_CODE, type ServiceError, type ServiceReply } from '@booking/shared';
import { RequestError } from '@nats-io/transport-node';
import { GatewayTimeoutException, HttpException, HttpStatus } from '@nestjs/common';
import { OutcomeUnknownException } from '../common/outcome-unknown.exception.js';
import { RetryLaterException } from '../common/retry-later.exception.js';

/**
 * What a call to the booking service means for the HTTP client. For a command
 * the status says what happened: 503 nothing was done; 504
 * (`OutcomeUnknownException`) the outcome is unknown.
 */

/** A command changes something (reserve, cancel, create); a read does not. */
export type CallKind = 'command' | 'read';

/** NATS's "no responders" status: no booking-service replica is subscribed, so nobody received the request. */
export const isNoResponders = (error: unknown): boolean => error instanceof RequestError && error.isNoResponders();

const isServiceReply = (reply: unknown): reply is ServiceReply<unknown> =>
  typeof reply === 'object' && reply !== null && typeof (reply as { ok?: unknown }).ok === 'boolean';

/** Whether a reply is a success of the contract (for the request metric). */
export const isSuccessReply = (reply: unknown): boolean => isServiceReply(reply) && reply.ok;

/** The data of a success reply; the contract's HTTP error for an error reply. */
export function replyData<T>(subject: string, reply: ServiceReply<T>): T {
  // Not our contract: a bug or a stranger on the subject. Logged, answered 500 without details.
  if (!isServiceReply(reply)) throw new Error(`${subject}: malformed reply from the booking service`);
  if (!reply.ok) throw serviceErrorToHttp(reply.error);
  return reply.data;
}

/**
 * The service's answer as an HTTP error. Built without a stack trace: it is an
 * answer (409 sold out, 404), not a fault of this code, and a flash sale
 * refuses most of its buyers.
 */
export function serviceErrorToHttp(error: ServiceError): HttpException {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const status = HTTP_STATUS_BY_ERROR_CODE[error.code] ?? HttpStatus.INTERNAL_SERVER_ERROR;
    if (status === HttpStatus.GATEWAY_TIMEOUT) return new OutcomeUnknownException(error.message);
    if (status === HttpStatus.SERVICE_UNAVAILABLE) return new RetryLaterException(error.message, 503, 1);
    return new HttpException(error.message, status);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

export const unreachable = (): HttpException =>
  new RetryLaterException('The booking service is unreachable; try again shortly', 503, 1);

/** The connection dropped while waiting: the reply, if any, was lost with it. */
export function connectionLost(kind: CallKind): HttpException {
  if (kind === 'command') {
    return new OutcomeUnknownException(
      'The connection to the booking service was lost before it answered; retry with the same Idempotency-Key to learn the outcome',
    );
  }
  return new RetryLaterException('The connection to the booking service was lost; try again shortly', 503, 1);
}

/** No reply within the deadline. */
export function noReplyInTime(kind: CallKind, timeoutMs: number): HttpException {
  return kind === 'command'
    ? new OutcomeUnknownException(
        `The booking service did not answer within ${timeoutMs} ms; retry with the same Idempotency-Key to learn the outcome`,
      )
    : new GatewayTimeoutException(`The booking service did not answer within ${timeoutMs} ms`);
}

export const circuitOpen = (retryAfterSeconds: number): HttpException =>
  new RetryLaterException(
    `The booking service is failing; requests are paused, retry in ${retryAfterSeconds} s`,
    503,
    retryAfterSeconds,
  );

export const atCapacity = (): HttpException =>
  new RetryLaterException('The gateway is at capacity; retry shortly', 503, 1);

export const unavailable = (): HttpException =>
  new RetryLaterException('The booking service is unavailable; try again shortly', 503, 1);
