import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { createCommandOf, emptyEventForm, EventFields } from './event-fields.js';
import { reportAdminFailure, type AdminProps } from './admin-session.js';

/** A new event: name and seats, and optionally its details and sales window. */
export function CreateEventForm({ token, onSignOut, onCreated }: AdminProps & { onCreated: () => void }) {
  const [values, setValues] = useState(emptyEventForm);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string; id?: number }>();

  return (
    <form
      class="stack"
      aria-labelledby="create-heading"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        setMessage(undefined);
        try {
          const created = await api.createEvent(createCommandOf(values), token);
          setMessage({
            kind: 'success',
            text: `Created “${created.name}” with ${created.total_seats} seats.`,
            id: created.id,
          });
          setValues({ ...emptyEventForm(), totalSeats: values.totalSeats });
          onCreated();
        } catch (error) {
          reportAdminFailure(error, onSignOut, (text) => setMessage({ kind: 'error', text }));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2 id="create-heading">Create an event</h2>
      <EventFields values={values} onChange={setValues} idPrefix="create" />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create event'}
      </button>
      <div aria-live="polite" data-testid="admin-message">
        {message && (
          <p class={message.kind} role={message.kind === 'error' ? 'alert' : 'status'}>
            {message.text} {message.id !== undefined && <a href={`/events/${message.id}`}>Open the event page</a>}
          </p>
        )}
      </div>
    </form>
  );
}
