import { useState } from 'preact/hooks';
import { updateSession, useSession } from './session.js';

/**
 * Local identity: the name is the user id bookings are made for. Where the
 * gateway requires sign-in, paste a token minted for that name (`pnpm run token --sub <name>`).
 */
export function SignIn() {
  const session = useSession();
  const [editing, setEditing] = useState(!session.userName);
  const [name, setName] = useState(session.userName);
  const [token, setToken] = useState(session.userToken);

  if (!editing && session.userName) {
    return (
      <div class="sign-in">
        <span>
          Signed in as <strong data-testid="signed-in-as">{session.userName}</strong>
        </span>
        <button type="button" class="link" onClick={() => setEditing(true)}>
          Change
        </button>
      </div>
    );
  }

  return (
    <form
      class="sign-in"
      aria-label="Sign in"
      onSubmit={(event) => {
        event.preventDefault();
        const userName = name.trim();
        if (!userName) return;
        updateSession({ userName, userToken: token.trim() });
        setEditing(false);
      }}
    >
      <label>
        Your name
        <input
          name="userName"
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
          required
          maxLength={255}
          autoComplete="username"
        />
      </label>
      <details>
        <summary>Access token (only if this server requires sign-in)</summary>
        <label>
          Token
          <input
            name="userToken"
            value={token}
            onInput={(event) => setToken(event.currentTarget.value)}
            autoComplete="off"
            spellcheck={false}
          />
        </label>
      </details>
      <button type="submit">Sign in</button>
    </form>
  );
}
