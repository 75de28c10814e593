import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { updateSession, useSession } from '../session.js';
import { messageOf } from '../use-load.js';

/** Create events. The admin token (a JWT with the admin role, e.g. from `pnpm run token --sub admin --role admin`) is sent as a bearer token. */
export function AdminPage() {
  const session = useSession();
  const [token, setToken] = useState(session.adminToken);
  const [name, setName] = useState('');
  const [seats, setSeats] = useState('100');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string; id?: number }>();

  return (
    <section aria-labelledby="admin-heading">
      <h1 id="admin-heading">Admin</h1>
      {!session.adminToken ? (
        <form
          class="stack"
          aria-label="Admin sign-in"
          onSubmit={(event) => {
            event.preventDefault();
            if (token.trim()) updateSession({ adminToken: token.trim() });
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
              autoComplete="current-password"
            />
          </label>
          <button type="submit">Sign in as admin</button>
        </form>
      ) : (
        <>
          <p>
            Signed in as admin.{' '}
            <button
              type="button"
              class="link"
              onClick={() => {
                updateSession({ adminToken: '' });
                setToken('');
              }}
            >
              Sign out
            </button>
          </p>
          <form
            class="stack"
            aria-labelledby="create-heading"
            onSubmit={async (event) => {
              event.preventDefault();
              setBusy(true);
              setMessage(undefined);
              try {
                const created = await api.createEvent(
                  { name: name.trim(), total_seats: Number(seats) },
                  session.adminToken,
                );
                setMessage({
                  kind: 'success',
                  text: `Created “${created.name}” with ${created.total_seats} seats.`,
                  id: created.id,
                });
                setName('');
              } catch (error) {
                setMessage({ kind: 'error', text: messageOf(error) });
              } finally {
                setBusy(false);
              }
            }}
          >
            <h2 id="create-heading">Create an event</h2>
            <label>
              Event name
              <input
                name="name"
                value={name}
                onInput={(event) => setName(event.currentTarget.value)}
                required
                maxLength={255}
              />
            </label>
            <label>
              Seats
              <input
                name="totalSeats"
                type="number"
                inputMode="numeric"
                min={1}
                max={1000000}
                step={1}
                value={seats}
                onInput={(event) => setSeats(event.currentTarget.value)}
                required
              />
            </label>
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Creating…' : 'Create event'}
            </button>
          </form>
        </>
      )}
      <div aria-live="polite" data-testid="admin-message">
        {message && (
          <p class={message.kind} role={message.kind === 'error' ? 'alert' : 'status'}>
            {message.text} {message.id !== undefined && <a href={`/events/${message.id}`}>Open the event page</a>}
          </p>
        )}
      </div>
    </section>
  );
}
