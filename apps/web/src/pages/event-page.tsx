import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { rememberBooking } from '../booking-keys.js';
import { recordSeats, seatsLeft, useLiveSeats } from '../live.js';
import { Seats } from '../seats.js';
import { useSession } from '../session.js';
import { messageOf, useLoad } from '../use-load.js';

/** The answer to the latest click; `attempt` tells one answer from the next even when the words are the same. */
type Outcome = { kind: 'success' | 'error'; text: string; attempt: number } | undefined;

export function EventPage({ id }: { id: string }) {
  const eventId = Number(id);
  const [event] = useLoad(() => api.getEvent(eventId), [eventId]);
  const { seats } = useLiveSeats();
  const session = useSession();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const [attempts, setAttempts] = useState(0);
  useEffect(() => setOutcome(undefined), [eventId]); // the router reuses this page for another event

  if (event.status === 'loading') return <p>Loading…</p>;
  if (event.status === 'error') {
    return (
      <p class="error" role="alert">
        {event.message}
      </p>
    );
  }

  const left = seatsLeft(event.data, seats);
  const book = async () => {
    const attempt = attempts + 1;
    setAttempts(attempt);
    setBusy(true);
    setOutcome(undefined);
    try {
      const { booking, accessKey } = await api.reserve(eventId, session.userName, session.userToken || undefined);
      if (accessKey) rememberBooking(booking.id, accessKey);
      setOutcome({ kind: 'success', text: 'Booked! Your seat is reserved. See it under My bookings.', attempt });
    } catch (error) {
      setOutcome({ kind: 'error', text: messageOf(error), attempt });
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
      {session.userName ? (
        <button type="button" class="primary" onClick={book} disabled={busy} aria-describedby="book-help">
          {busy ? 'Booking…' : 'Book a seat'}
        </button>
      ) : (
        <p id="book-help">Sign in with your name above to book.</p>
      )}
      {session.userName && (
        <p id="book-help" class="hint">
          {left <= 0
            ? 'No seats left right now. If someone cancels, this page shows it at once.'
            : `Books one seat for ${session.userName}.`}
        </p>
      )}
      <div aria-live="polite" data-testid="outcome" data-attempts={attempts}>
        {outcome && (
          <p class={outcome.kind} role={outcome.kind === 'error' ? 'alert' : 'status'} data-attempt={outcome.attempt}>
            {outcome.text}
          </p>
        )}
      </div>
    </section>
  );
}
