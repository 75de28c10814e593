import { DEADLINE_HEADER } from '@booking/shared';
import type { NatsContext } from '@nestjs/microservices';
import { sql } from 'drizzle-orm';

/**
 * The most time between two statements of a reservation transaction: PostgreSQL
 * ends the session past it (`idle_in_transaction_session_timeout`, set for that
 * transaction), so a COMMIT held up on the way cannot land late.
 */
export const TRANSACTION_IDLE_LIMIT_MS = 500;
/** Time left for the reply to reach the gateway once the writes are done. */
const REPLY_MARGIN_MS = 250;
/** What a command's deadline reserves beyond PostgreSQL's statement limit. */
export const COMMAND_MARGINS_MS = TRANSACTION_IDLE_LIMIT_MS + REPLY_MARGIN_MS;

/** Why a command was refused before anything was written. */
export type NotStartedReason = 'deadline' | 'busy';

/** A command refused before it started: nothing was written, so the caller may simply retry. */
export class NotStartedError extends Error {
  constructor(readonly reason: NotStartedReason) {
    super(
      reason === 'busy'
        ? 'The booking service has too many requests waiting; nothing was done, try again shortly'
        : 'The booking service could not start this request before its deadline; nothing was done, try again shortly',
    );
  }
}

/**
 * The time (epoch ms) by which a command must have started so that its writes
 * commit before the gateway stops waiting: the deadline the gateway sent, less
 * the longest a started write may take (PostgreSQL's statement limit, the
 * transaction idle limit, the reply's way back). A caller that sent no
 * deadline gets the default request timeout from now.
 */
export function commandStartBy(
  context: NatsContext | undefined,
  config: { NATS_REQUEST_TIMEOUT_MS: number; DATABASE_STATEMENT_TIMEOUT_MS: number },
): number {
  const header = context?.getHeaders()?.get(DEADLINE_HEADER);
  const sent = header ? Number(header) : NaN;
  const deadline = Number.isSafeInteger(sent) ? sent : Date.now() + config.NATS_REQUEST_TIMEOUT_MS;
  return deadline - config.DATABASE_STATEMENT_TIMEOUT_MS - COMMAND_MARGINS_MS;
}

/**
 * An SQL condition that is true, or fails the statement with SQLSTATE BK001 so
 * that it writes nothing, when PostgreSQL runs it after `startBy` (epoch ms): a
 * statement delayed on its way must not write for a caller that has already
 * been answered (migration 0007).
 */
export const startedBy = (startBy: number) =>
  sql`assert_before_deadline(${new Date(startBy).toISOString()}::timestamptz)`;
