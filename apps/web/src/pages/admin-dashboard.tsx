import { MAX_LIST_SIZE } from '@booking/shared';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type EventView } from '../api.js';
import { formatTime } from '../dates.js';
import { seatsLeft, useLiveSeats } from '../live.js';
import { Seats } from '../seats.js';
import { LoadStatus } from '../load-status.js';
import { messageOf, useLoad } from '../use-load.js';

/** Attendees shown at first, and added by each "Show more". */
const ATTENDEES_PAGE = 50;

interface AdminProps {
  token: string;
  /** Ends the admin session; with a reason when the gateway stopped accepting the token. */
  onSignOut: (reason?: string) => void;
}

/** A 401 means the token expired (or the server's keys changed) since sign-in: back to the sign-in form, saying so. */
function refusalOf(error: unknown): string | undefined {
  return error instanceof ApiError && error.status === 401
    ? 'The gateway no longer accepts your admin token (it may have expired). Sign in with a new one.'
    : undefined;
}

/** Create events; list them with their seats (live) and, for a chosen event, its attendees. */
export function AdminDashboard({ token, sub, onSignOut }: AdminProps & { sub: string }) {
  const [events, reloadEvents] = useLoad(() => api.listEvents(), []);
  const { seats } = useLiveSeats();
  const [chosen, setChosen] = useState<EventView>();

  return (
    <>
      <p>
        Signed in with the admin token of <strong data-testid="admin-sub">{sub}</strong>.{' '}
        <button type="button" class="link" onClick={() => onSignOut()}>
          Sign out
        </button>
      </p>
      <CreateEventForm token={token} onSignOut={onSignOut} onCreated={reloadEvents} />
      <h2 id="admin-events-heading">Events</h2>
      <LoadStatus load={events} loading="Loading events…" />
      {events.status === 'ready' && events.data.length === 0 && <p>No events yet.</p>}
      {events.status === 'ready' && events.data.length > 0 && (
        <ul class="cards" aria-labelledby="admin-events-heading">
          {events.data.map((event) => (
            <li key={event.id} class="card" data-testid="admin-event" data-event-id={event.id}>
              <h3>
                <a href={`/events/${event.id}`}>{event.name}</a>
              </h3>
              <p>
                <Seats left={seatsLeft(event, seats)} total={event.total_seats} />
              </p>
              <button
                type="button"
                onClick={() => setChosen(event)}
                aria-pressed={chosen?.id === event.id}
                aria-label={`Attendees of ${event.name}`}
              >
                Attendees
              </button>
            </li>
          ))}
        </ul>
      )}
      {chosen && <Attendees key={chosen.id} event={chosen} token={token} onSignOut={onSignOut} />}
    </>
  );
}

function CreateEventForm({ token, onSignOut, onCreated }: AdminProps & { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [seats, setSeats] = useState('100');
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
          const created = await api.createEvent({ name: name.trim(), total_seats: Number(seats) }, token);
          setMessage({
            kind: 'success',
            text: `Created “${created.name}” with ${created.total_seats} seats.`,
            id: created.id,
          });
          setName('');
          onCreated();
        } catch (error) {
          const refusal = refusalOf(error);
          if (refusal) return onSignOut(refusal);
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

/** The event's bookings as the API lists them (oldest first, capped by the API), shown a page at a time. */
function Attendees({ event, token, onSignOut }: AdminProps & { event: EventView }) {
  const [list, reload] = useLoad(() => api.listBookings(token, { event_id: event.id }), [event.id, token]);
  const [shown, setShown] = useState(ATTENDEES_PAGE);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []); // the list appears below the button that asked for it
  const refusal = list.status === 'error' ? refusalOf(list.error) : undefined;
  useEffect(() => {
    if (refusal) onSignOut(refusal);
  }, [refusal]);
  const bookings = list.status === 'ready' ? list.data : [];

  return (
    <section aria-labelledby="attendees-heading" data-testid="attendees">
      <h2 id="attendees-heading" tabIndex={-1} ref={heading}>
        Attendees of {event.name}
      </h2>
      <LoadStatus load={list} loading="Loading attendees…" />
      {list.status === 'ready' && bookings.length === 0 && <p>No bookings yet.</p>}
      {bookings.length > 0 && (
        <>
          <p data-testid="attendees-count">
            {`Showing ${Math.min(shown, bookings.length)} of ${bookings.length} `}
            {bookings.length === 1 ? 'booking.' : 'bookings, oldest first.'}
            {bookings.length >= MAX_LIST_SIZE && ` The gateway lists the oldest ${MAX_LIST_SIZE} only.`}
          </p>
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">ID</th>
                  <th scope="col">User</th>
                  <th scope="col">Booked at</th>
                </tr>
              </thead>
              <tbody>
                {bookings.slice(0, shown).map((booking) => (
                  <tr key={booking.id} data-testid="attendee">
                    <td>{booking.id}</td>
                    <td class="user-id">{booking.user_id}</td>
                    <td class="time">{formatTime(booking.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <p class="actions">
        {shown < bookings.length && (
          <button type="button" onClick={() => setShown(shown + ATTENDEES_PAGE)}>
            Show {Math.min(ATTENDEES_PAGE, bookings.length - shown)} more
          </button>
        )}
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </p>
    </section>
  );
}
