import { ApiError } from '../api.js';
import { messageOf } from '../use-load.js';

export interface AdminProps {
  token: string;
  /** Ends the admin session; with a reason when the gateway stopped accepting the token. */
  onSignOut: (reason?: string) => void;
}

/** A 401 means the token expired (or the server's keys changed) since sign-in: back to the sign-in form, saying so. */
export function refusalOf(error: unknown): string | undefined {
  return error instanceof ApiError && error.status === 401
    ? 'The gateway no longer accepts your admin token (it may have expired). Sign in with a new one.'
    : undefined;
}

/**
 * An admin request failed: a refused token ends the session, saying why (returns true: the form is gone); any
 * other failure is shown with `show`.
 */
export function reportAdminFailure(
  error: unknown,
  onSignOut: AdminProps['onSignOut'],
  show: (text: string) => void,
): boolean {
  const refusal = refusalOf(error);
  if (refusal) onSignOut(refusal);
  else show(messageOf(error));
  return refusal !== undefined;
}
