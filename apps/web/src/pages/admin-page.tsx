import { ADMIN_ROLE } from '@booking/shared';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { updateSession, useSession } from '../session.js';
import { messageOf } from '../use-load.js';
import { AdminDashboard } from './admin-dashboard.js';

/** How an operator gets an admin token for a local gateway (HS256 with its JWT_SECRET). */
const MINT_ADMIN_TOKEN = 'pnpm -s run token --sub admin --role admin';

/**
 * Whether `token` is an admin token this gateway accepts: whom it names, or why not in plain words. Throws when
 * the gateway cannot say (unreachable, busy).
 */
async function checkAdminToken(token: string): Promise<{ sub: string } | { problem: string }> {
  try {
    const { sub, roles } = await api.whoIs(token);
    return roles.includes(ADMIN_ROLE) ? { sub } : { problem: `This token is for “${sub}”, who is not an admin.` };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    if (/expired/i.test(error.serverMessage)) return { problem: 'This admin token has expired.' };
    return { problem: `This server does not accept this token (${error.serverMessage.replace(/\.$/, '')}).` };
  }
}

/**
 * The admin token (a JWT with the admin role) is checked with the gateway as soon as it is given, and again when
 * the page opens with a saved one: a wrong or expired token is refused at once, with the command that mints one.
 */
export function AdminPage() {
  const session = useSession();
  const [admin, setAdmin] = useState<{ token: string; sub: string }>();
  const [checking, setChecking] = useState(!!session.adminToken);
  const [problem, setProblem] = useState<string>();

  const signIn = async (token: string) => {
    setChecking(true);
    setProblem(undefined);
    try {
      const result = await checkAdminToken(token);
      if ('sub' in result) {
        updateSession({ adminToken: token });
        setAdmin({ token, sub: result.sub });
      } else {
        updateSession({ adminToken: '' });
        setProblem(result.problem);
      }
    } catch (error) {
      // Not the token's fault: keep it, so that signing in again is one click.
      updateSession({ adminToken: token });
      setProblem(`The token could not be checked. ${messageOf(error)}`);
    } finally {
      setChecking(false);
    }
  };
  const signOut = (reason?: string) => {
    updateSession({ adminToken: '' });
    setAdmin(undefined);
    setProblem(reason);
  };
  useEffect(() => {
    if (session.adminToken) void signIn(session.adminToken);
  }, []);

  return (
    <section aria-labelledby="admin-heading">
      <h1 id="admin-heading">Admin</h1>
      {admin ? (
        <AdminDashboard {...admin} onSignOut={signOut} />
      ) : checking ? (
        <p role="status">Checking the admin token…</p>
      ) : (
        <AdminSignIn savedToken={session.adminToken} problem={problem} onSubmit={signIn} />
      )}
    </section>
  );
}

interface AdminSignInProps {
  savedToken: string;
  problem?: string;
  onSubmit: (token: string) => void;
}

function AdminSignIn({ savedToken, problem, onSubmit }: AdminSignInProps) {
  const [token, setToken] = useState(savedToken);
  return (
    <form
      class="stack"
      aria-label="Admin sign-in"
      onSubmit={(event) => {
        event.preventDefault();
        if (token.trim()) onSubmit(token.trim());
      }}
    >
      <label>
        Admin token
        <input
          type="password"
          name="adminToken"
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          required
          autoComplete="off"
          aria-describedby={problem ? 'admin-token-problem admin-token-help' : 'admin-token-help'}
          aria-invalid={problem ? true : undefined}
        />
      </label>
      {problem && (
        <p id="admin-token-problem" class="error" role="alert" data-testid="admin-problem">
          {problem}
        </p>
      )}
      <p id="admin-token-help" class="hint">
        An admin token is a JWT with the <code>admin</code> role. For a local server, mint one where it runs:
        <br />
        <code class="command">{MINT_ADMIN_TOKEN}</code>
      </p>
      <button type="submit">Sign in as admin</button>
    </form>
  );
}
