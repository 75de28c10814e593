import { useState } from 'preact/hooks';
import { api, ApiError, type BookingView } from '../api.js';
import { bookingsMadeHere, rememberBooking } from '../booking-keys.js';
import { recordSeats, seatsLeft, useLiveSeats } from '../live.js';
import { Seats } from '../seats.js';
import { useSession } from '../session.js';
import { WaitingRoomNotice } from '../waiting-room-notice.js';
import { messageOf, useLoad } from '../use-load.js';
import { NotFoundPage } from './not-found-page.js';

/**
 * The answer to the latest click, for the user who clicked (another name signed in later does not see it);
 * `attempt` tells one answer from the next even when the words are the same.
 */
type Outcome = { kind: 'success' | 'error'; text: string; attempt: number; userName: string } | undefined;

export function EventPage({ id }: { id: string }) {
  if (!/^[1-9]\d{0,9}$/.test(id)) return <NotFoundPage />;
  // A fresh page per event: the router reuses this component when only the id changes.
  return <EventDetails key={id} eventId={Number(id)} />;
}

/**
 * The user's active booking for the event, if they hold one: with a token, as the server lists it; without,
 * one made in this browser for this name (the only bookings an anonymous page can know are its own).
 */
async function bookingHeldBy(userName: string, token: string | undefined, eventId: number) {
  if (!userName) return undefined;
  if (token) return (await api.listBookings(token, { event_id: eventId, user_id: userName }))[0];
  const madeHere = await bookingsMadeHere((booking) => booking.event_id === eventId && booking.user_id === userName);
  return madeHere.find((held) => held.cancelledAt === undefined)?.booking;
}

function EventDetails({ eventId }: { eventId: number }) {
  const [event] = useLoad(() => api.getEvent(eventId), [eventId]);
  const { seats } = useLiveSeats();
  const { userName, userToken } = useSession();
  const token = userToken || undefined;
  const [held] = useLoad<BookingView | undefined>(
    () => bookingHeldBy(userName, token, eventId),
    [userName, token, eventId],
  );
  /** The name this page booked for, or was told already holds a seat: known before any list says so. */
  const [bookedAs, setBookedAs] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const [attempts, setAttempts] = useState(0);

  if (event.status === 'loading') return <p>Loading…</p>;
  if (event.status === 'error') {
    return (
      <p class="error" role="alert">
        {event.message}
      </p>
    );
  }

  const left = seatsLeft(event.data, seats);
  const holdsSeat = bookedAs === userName || (held.status === 'ready' && held.data !== undefined);
  // While the user's bookings are being read the button waits; if they cannot be read, the server decides.
  const canBook = !busy && held.status !== 'loading' && !holdsSeat && left > 0;

  const book = async () => {
    const attempt = attempts + 1;
    setAttempts(attempt);
    setBusy(true);
    setOutcome(undefined);
    try {
      const { booking, accessKey } = await api.reserve(eventId, userName, token);
      if (accessKey) rememberBooking(booking, accessKey);
      setBookedAs(userName);
      setOutcome({
        kind: 'success',
        text: 'Booked! Your seat is reserved. See it under My bookings.',
        attempt,
        userName,
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && /already booked/i.test(error.serverMessage)) {
        setBookedAs(userName);
      }
      setOutcome({ kind: 'error', text: messageOf(error), attempt, userName });
    } finally {
      setBusy(false);
    }
    // Show this page's own effect at once, whether or not the live feed is connected. If this read fails,
    // the page stays as it is (with the answer above); the live feed or the next visit brings the figure.
    api.getEvent(eventId).then(recordSeats, () => undefined);
  };

  return (
    <section aria-labelledby="event-heading">
      <p>
        <a href="/">← All events</a>
      </p>
      <h1 id="event-heading">{event.data.name}</h1>
      <p class="big" aria-live="polite">
        <Seats left={left} total={event.data.total_seats} />
      </p>
      <WaitingRoomNotice eventId={eventId} />
      {userName ? (
        <>
          <button
            type="button"
            class="primary"
            onClick={book}
            disabled={!canBook}
            aria-busy={busy}
            aria-describedby="book-help"
          >
            {busy ? 'Booking…' : 'Book a seat'}
          </button>
          <p id="book-help" class="hint" data-testid="book-help" aria-live="polite">
            {holdsSeat ? (
              <>
                You already hold a seat for this event. <a href="/bookings">See it in My bookings</a>.
              </>
            ) : left <= 0 ? (
              'No seats left. If someone cancels, this button comes back on by itself.'
            ) : (
              `Books one seat for ${userName}.`
            )}
          </p>
        </>
      ) : (
        <p id="book-help">Sign in with your name above to book.</p>
      )}
      <div aria-live="polite" data-testid="outcome" data-attempts={attempts}>
        {outcome?.userName === userName && (
          <p class={outcome.kind} role={outcome.kind === 'error' ? 'alert' : 'status'} data-attempt={outcome.attempt}>
            {outcome.text}
          </p>
        )}
      </div>
    </section>
  );
}
