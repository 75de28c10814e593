import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type EventView } from '../api.js';
import { ConfirmDialog } from '../confirm-dialog.js';
import { formatLongTime } from '../dates.js';
import { salesPhase } from '../sales.js';
import { reportAdminFailure, type AdminProps } from './admin-session.js';
import { changesOf, EventFields, formOf } from './event-fields.js';

interface EventEditorProps extends AdminProps {
  event: EventView;
  /** The event as the server answered a change. */
  onChanged: (event: EventView) => void;
}

type Message = { kind: 'success' | 'error'; text: string };

/** An organiser's changes to one event: its details, sales window and capacity; closing its sales at once. */
export function EventEditor({ event, token, onSignOut, onChanged }: EventEditorProps) {
  const [values, setValues] = useState(() => formOf(event));
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>();
  const [confirming, setConfirming] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const messageRef = useRef<HTMLDivElement>(null);
  useEffect(() => heading.current?.focus(), []); // the form appears below the button that asked for it

  const run = async (action: () => Promise<EventView>, success: (updated: EventView) => string) => {
    setBusy(true);
    setMessage(undefined);
    try {
      const updated = await action();
      setValues(formOf(updated));
      onChanged(updated);
      setMessage({ kind: 'success', text: success(updated) });
    } catch (error) {
      if (reportAdminFailure(error, onSignOut, (text) => setMessage({ kind: 'error', text }))) return;
    } finally {
      setBusy(false);
    }
    messageRef.current?.focus();
  };

  const save = () => {
    const changes = changesOf(event, values);
    if (Object.keys(changes).length === 0) {
      setMessage({ kind: 'success', text: 'Nothing to save: no field was changed.' });
      return;
    }
    void run(
      () => api.updateEvent(event.id, changes, token),
      (updated) => `Saved the changes to “${updated.name}”.`,
    );
  };
  const closeSales = () =>
    run(
      () => api.closeSales(event.id, token),
      (updated) => `Sales closed${updated.sales_close_at ? ` on ${formatLongTime(updated.sales_close_at)}` : ''}.`,
    );
  const phase = salesPhase(event, Date.now());
  const salesOver = phase.phase === 'closed' || phase.phase === 'started';

  return (
    <section class="organiser" aria-labelledby="editor-heading" data-testid="event-editor">
      <h2 id="editor-heading" tabIndex={-1} ref={heading}>
        Edit {event.name}
      </h2>
      <p class="hint">
        {event.booked_seats} {event.booked_seats === 1 ? 'seat is' : 'seats are'} booked: the capacity cannot go below
        that.
      </p>
      <form
        class="stack"
        aria-labelledby="editor-heading"
        onSubmit={(submitted) => {
          submitted.preventDefault();
          save();
        }}
      >
        <EventFields values={values} onChange={setValues} idPrefix="edit" />
        <p class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save changes'}
          </button>
          <button type="button" class="danger" onClick={() => setConfirming(true)} disabled={busy || salesOver}>
            Close sales now
          </button>
        </p>
        {salesOver && <p class="hint">Sales for this event are over.</p>}
      </form>
      <div aria-live="polite" data-testid="editor-message" tabIndex={-1} ref={messageRef}>
        {message && (
          <p class={message.kind} role={message.kind === 'error' ? 'alert' : 'status'}>
            {message.text}
          </p>
        )}
      </div>
      {confirming && (
        <ConfirmDialog
          title="Close the sales now?"
          confirmLabel="Close sales"
          keepLabel="Keep selling"
          onConfirm={() => void closeSales()}
          onClose={() => setConfirming(false)}
        >
          <p>
            Nobody can book <strong>{event.name}</strong> from now on. The bookings made stay. To sell again, set a
            later sales closing time.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
