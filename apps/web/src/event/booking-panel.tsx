import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { rememberBooking } from '../booking-keys.js';
import { recordSeats } from '../live.js';
import type { SalesPhase } from '../sales.js';
import { messageOf } from '../use-load.js';

/**
 * The answer to the latest click, for the user who clicked (another name signed in later does not see it);
 * `attempt` tells one answer from the next even when the words are the same.
 */
type Outcome = { kind: 'success' | 'error'; text: string; attempt: number; userName: string } | undefined;

interface BookingPanelProps {
  eventId: number;
  userName: string;
  token: string | undefined;
  left: number;
  phase: SalesPhase;
  /** The user holds a seat: undefined while that is being found out (the button waits). */
  holdsSeat: boolean | undefined;
  /** The server said the user holds a seat the page did not know of, or the page just booked one. */
  onHeld: () => void;
}

/** Why the button is off, or what it does: one sentence under it. */
function helpText({ userName, left, phase, holdsSeat }: BookingPanelProps) {
  if (holdsSeat) {
    return (
      <>
        You already hold a seat for this event. <a href="/bookings">See it in My bookings</a>.
      </>
    );
  }
  if (phase.phase === 'not-open') return 'Sales have not opened yet. This button comes on by itself when they do.';
  if (phase.phase === 'closed') return 'Sales for this event have closed.';
  if (phase.phase === 'started') return 'This event has started: it can no longer be booked.';
  if (left <= 0) return 'No seats left. If someone cancels, this button comes back on by itself.';
  return `Books one seat for ${userName}.`;
}

export function BookingPanel(props: BookingPanelProps) {
  const { eventId, userName, token, left, phase, holdsSeat, onHeld } = props;
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const [attempts, setAttempts] = useState(0);
  // While the user's bookings are being read the button waits; if they cannot be read, the server decides.
  const canBook = !busy && holdsSeat === false && left > 0 && phase.phase === 'open';

  const book = async () => {
    const attempt = attempts + 1;
    setAttempts(attempt);
    setBusy(true);
    setOutcome(undefined);
    try {
      const { booking, accessKey } = await api.reserve(eventId, userName, token);
      if (accessKey) rememberBooking(booking, accessKey);
      onHeld();
      setOutcome({
        kind: 'success',
        text: 'Booked! Your seat is reserved. See it under My bookings.',
        attempt,
        userName,
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && /already booked/i.test(error.serverMessage)) onHeld();
      setOutcome({ kind: 'error', text: messageOf(error), attempt, userName });
    } finally {
      setBusy(false);
    }
    // Show this page's own effect at once, whether or not the live feed is connected. If this read fails,
    // the page stays as it is (with the answer above); the live feed or the next visit brings the figure.
    api.getEvent(eventId).then(recordSeats, () => undefined);
  };

  if (!userName) return <p id="book-help">Sign in with your name above to book.</p>;
  return (
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
        {helpText(props)}
      </p>
      <div aria-live="polite" data-testid="outcome" data-attempts={attempts}>
        {outcome?.userName === userName && (
          <p class={outcome.kind} role={outcome.kind === 'error' ? 'alert' : 'status'} data-attempt={outcome.attempt}>
            {outcome.text}
          </p>
        )}
      </div>
    </>
  );
}
