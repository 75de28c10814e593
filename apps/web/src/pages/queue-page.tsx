import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { rememberBooking } from '../booking-keys.js';
import { useSession } from '../session.js';
import { messageOf, useLoad } from '../use-load.js';
import {
  storedTicket,
  storeTicket,
  useQueueStatus,
  waitingRoomApi,
  waitInWords,
  type QueueStatusView,
} from '../waiting-room.js';
import { NotFoundPage } from './not-found-page.js';

export function QueuePage({ id }: { id: string }) {
  if (!/^[1-9]\d{0,9}$/.test(id)) return <NotFoundPage />;
  const { userName } = useSession();
  // A fresh page per event and per name: a place belongs to one user.
  return <Queue key={`${id}/${userName}`} eventId={Number(id)} userName={userName} />;
}

/**
 * An event's waiting room for the signed-in name: join, watch the place come forward (pushed by the server,
 * no polling), book when the turn comes.
 */
function Queue({ eventId, userName }: { eventId: number; userName: string }) {
  const { userToken } = useSession();
  const token = userToken || undefined;
  const [event] = useLoad(() => api.getEvent(eventId), [eventId]);
  const [ticket, setTicket] = useState(() => (userName ? storedTicket(eventId, userName) : undefined));
  const [joining, setJoining] = useState(false);
  const [problem, setProblem] = useState<string>();
  const { status, connected } = useQueueStatus(eventId, ticket);

  const join = async () => {
    setJoining(true);
    setProblem(undefined);
    try {
      const joined = await waitingRoomApi.join(eventId, userName, token);
      storeTicket(eventId, userName, joined.ticket);
      setTicket(joined.ticket);
    } catch (error) {
      setProblem(messageOf(error));
    } finally {
      setJoining(false);
    }
  };

  return (
    <section aria-labelledby="queue-heading">
      <p>
        <a href={`/events/${eventId}`}>← Back to the event</a>
      </p>
      <h1 id="queue-heading">Waiting room{event.status === 'ready' ? `: ${event.data.name}` : ''}</h1>
      {!userName ? (
        <p>Sign in with your name above to join the queue.</p>
      ) : !ticket ? (
        <>
          <p>
            Everyone who joins before the sale opens gets a place drawn at random; after that, first come, first served.
          </p>
          <button type="button" class="primary" onClick={join} disabled={joining} aria-busy={joining}>
            {joining ? 'Joining…' : 'Join the queue'}
          </button>
        </>
      ) : (
        <Place eventId={eventId} userName={userName} token={token} status={status} connected={connected} />
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </section>
  );
}

function Place(props: {
  eventId: number;
  userName: string;
  token?: string;
  status?: QueueStatusView;
  connected: boolean;
}) {
  const { eventId, userName, token, status } = props;
  const [booking, setBooking] = useState<'idle' | 'busy' | 'done'>('idle');
  const [problem, setProblem] = useState<string>();
  if (!status) return <p aria-live="polite">Finding your place…</p>;

  const book = async () => {
    setBooking('busy');
    setProblem(undefined);
    try {
      const { booking: made, accessKey } = await api.reserve(eventId, userName, token, status.admission_token!);
      if (accessKey) rememberBooking(made, accessKey);
      setBooking('done');
    } catch (error) {
      setProblem(messageOf(error));
      setBooking('idle');
    }
  };

  return (
    <div data-testid="queue-status" data-state={status.state} aria-live="polite">
      {(status.state === 'early' || status.state === 'waiting') && (
        <>
          <p class="big">
            {status.state === 'early'
              ? 'You are in. Places are drawn when the sale opens.'
              : `${status.ahead} ahead of you`}
          </p>
          <p>
            Your place: <strong data-testid="queue-position">{status.position}</strong>
            {status.estimated_wait_s !== null && <> · wait {waitInWords(status.estimated_wait_s)}</>}
          </p>
          <p class="hint">{props.connected ? 'Live: this page updates by itself.' : 'Reconnecting…'}</p>
        </>
      )}
      {status.state === 'seats_held' && (
        <>
          <p class="big">It is your turn, but every seat left is held by someone let in before you.</p>
          <p>
            If one of them does not book in time, the seat goes to the first of those waiting here. Your place:{' '}
            <strong data-testid="queue-position">{status.position}</strong>
          </p>
        </>
      )}
      {status.state === 'admitted' &&
        (booking === 'done' ? (
          <p class="success" role="status">
            Booked! Your seat is reserved. See it under <a href="/bookings">My bookings</a>.
          </p>
        ) : (
          <>
            <p class="big">It is your turn.</p>
            <p>Book before {new Date(status.admission_expires_at!).toLocaleTimeString()}, or your turn passes.</p>
            <button
              type="button"
              class="primary"
              onClick={book}
              disabled={booking === 'busy'}
              aria-busy={booking === 'busy'}
            >
              {booking === 'busy' ? 'Booking…' : 'Book your seat'}
            </button>
          </>
        ))}
      {status.state === 'used' && (
        <p>
          You have booked with your turn. See it under <a href="/bookings">My bookings</a>.
        </p>
      )}
      {status.state === 'expired' && <p>Your turn passed without a booking.</p>}
      {status.state === 'closed' && (
        <>
          <p class="big">Sorry, this event is sold out. The queue is closed.</p>
          <p>
            A seat given back goes to the event's waitlist:{' '}
            <a href={`/events/${eventId}`} data-testid="waitlist-link">
              join it on the event's page
            </a>
            .
          </p>
        </>
      )}
      {status.state === 'off' && (
        <p>
          The waiting room is over: <a href={`/events/${eventId}`}>book on the event's page</a>.
        </p>
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
