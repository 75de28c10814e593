/** The SQLSTATE of a PostgreSQL error, also when Drizzle wrapped it (DrizzleQueryError keeps it as `cause`). */
export function postgresErrorCode(error: unknown): string | undefined {
  for (
    let current = error;
    current instanceof Error || isObject(current);
    current = (current as { cause?: unknown }).cause
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    if (!('cause' in (current as object))) break;
  }
  return undefined;
}

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

export const PgErrorCode = {
  UniqueViolation: '23505',
  ForeignKeyViolation: '23503',
  CheckViolation: '23514',
  DeadlockDetected: '40P01',
  /** statement_timeout fired: the statement was cancelled, nothing written. */
  QueryCanceled: '57014',
  /** `assert_before_deadline` (migration 0007): the command reached PostgreSQL too late, nothing written. */
  PastDeadline: 'BK001',
  /**
   * The seat-counter trigger (migration 0010) refused a booking of an event not on sale; raised only when
   * the window changed after the statement's snapshot (which saw the event on sale). Nothing written.
   */
  NotOnSale: 'BK002',
  /**
   * The server is a standby: during a failover the database's address may lead to one before its
   * promotion ends. The write was refused, nothing written.
   */
  ReadOnlyTransaction: '25006',
  TooManyConnections: '53300',
} as const;

/**
 * True for errors that mean "PostgreSQL is not reachable, too slow or not
 * accepting work right now" (connection refused or lost, no answer in time,
 * statement timeout, admin shutdown, too many clients, a standby not yet
 * promoted), as opposed to a bug in a query.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = postgresErrorCode(error);
  if (code) {
    return (
      code.startsWith('08') ||
      code.startsWith('57') ||
      code === PgErrorCode.TooManyConnections ||
      code === PgErrorCode.ReadOnlyTransaction
    );
  }
  const message =
    error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}` : '';
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|not queryable/i.test(
    message,
  );
}

/** Errors that roll a statement back whole because a concurrent writer overtook it. */
const OVERTAKEN: ReadonlySet<string> = new Set([PgErrorCode.DeadlockDetected, PgErrorCode.NotOnSale]);

/**
 * Runs one self-contained statement again when a concurrent writer overtook
 * it: PostgreSQL chose it as a deadlock victim, or an organiser changed the
 * event's sales window between its snapshot and its lock (BK002). The
 * statement was rolled back whole, so repeating it is safe, and the repeat
 * sees the change. Every lock on an events row is taken in id order with one
 * strength, so deadlocks on them are not expected; this is the safety net if
 * one comes.
 */
export async function retryWhenOvertaken<T>(statement: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if (attempt >= attempts || !OVERTAKEN.has(postgresErrorCode(error) ?? '')) throw error;
    }
  }
}
