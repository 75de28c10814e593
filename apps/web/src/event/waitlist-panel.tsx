import { ErrorMessages } from '@booking/shared';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type WaitlistEntryView } from '../api.js';
import { messageOf } from '../use-load.js';

/** Where the user stands in the event's waitlist. `seated`: the user left the line because a seat was booked for them. */
type Place =
  | { kind: 'checking' }
  | { kind: 'out' }
  | { kind: 'in'; entry: WaitlistEntryView }
  | { kind: 'seated' }
  | { kind: 'gone' };

interface WaitlistPanelProps {
  eventId: number;
  userName: string;
  token: string | undefined;
  /** Changes whenever the live feed reports a change of this event: a place in line is read again then. */
  liveVersion: unknown;
  /** Joining is offered only then (the server says "book instead" otherwise). */
  soldOut: boolean;
  holdsSeat: boolean | undefined;
  /** Whether the user holds a booking for this event now, as the server knows (asked when the place is gone). */
  checkBooked: () => Promise<boolean>;
}

/**
 * Someone leaving the line ahead of the user changes no seat, so the live feed does not tell of it: while in
 * line, the place is also read again this often.
 */
const PLACE_REREAD_MS = 10_000;

/**
 * The server's NOT_WAITING answer. Its HTTP errors carry no error code, so the refusal is told from an unknown
 * event's 404 by the contract's own message for it.
 */
const notInLine = (error: unknown, eventId: number, userName: string) =>
  error instanceof ApiError &&
  error.status === 404 &&
  error.serverMessage === ErrorMessages.notWaiting(userName, eventId);

/**
 * Join the line for a sold-out event, see the place in it (read again whenever the event changes, and every
 * PLACE_REREAD_MS), leave it.
 * The first in line is booked automatically when a seat frees up: a place that disappears without the user
 * leaving is checked against their bookings, to say "You got a seat".
 */
export function WaitlistPanel(props: WaitlistPanelProps) {
  const { eventId, userName, token, liveVersion, soldOut, holdsSeat, checkBooked } = props;
  const [place, setPlace] = useState<Place>({ kind: 'checking' });
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  /** Whether the place shown is in line: a place then gone without leaving may have been given a seat. */
  const hadPlace = useRef(false);
  /**
   * Counts reads and the user's actions: an answer is shown only if nothing started after it. Reads overlap (a
   * live change during a timed read, a join or leave meanwhile), and only the newest knows the place.
   */
  const latest = useRef(0);
  const status = useRef<HTMLDivElement>(null);
  /** Bumped to read the place again: only while in line (a busy event changes often; nobody else needs it). */
  const [reread, setReread] = useState(0);

  useEffect(() => {
    if (place.kind === 'in') setReread((value) => value + 1);
  }, [liveVersion]);

  useEffect(() => {
    if (place.kind !== 'in') return;
    const timer = setInterval(() => {
      if (!document.hidden) setReread((value) => value + 1);
    }, PLACE_REREAD_MS);
    return () => clearInterval(timer);
  }, [place.kind]);

  const show = (next: Place) => {
    hadPlace.current = next.kind === 'in';
    setPlace(next);
  };

  useEffect(() => {
    const read = async (): Promise<Place> => {
      try {
        return { kind: 'in', entry: await api.waitlistPlace(eventId, userName, token) };
      } catch (error) {
        if (!notInLine(error, eventId, userName)) throw error;
      }
      if (!hadPlace.current) return { kind: 'out' };
      return (await checkBooked().catch(() => false)) ? { kind: 'seated' } : { kind: 'gone' };
    };
    const started = ++latest.current;
    read().then(
      (next) => started === latest.current && (show(next), setProblem(undefined)),
      (error: unknown) => started === latest.current && setProblem(messageOf(error)),
    );
    return () => {
      latest.current += 1;
    };
  }, [eventId, userName, token, reread]);

  if (place.kind === 'checking') return null;
  // Nothing to offer: seats are there to book, or the user holds one (and was not just given it from the line).
  if ((place.kind === 'out' || place.kind === 'gone') && (!soldOut || holdsSeat !== false)) return null;

  const act = async (action: () => Promise<Place>) => {
    setBusy(true);
    setProblem(undefined);
    latest.current += 1;
    try {
      const next = await action();
      latest.current += 1; // a read started meanwhile may have seen the place before this action
      show(next);
    } catch (error) {
      setProblem(messageOf(error));
    } finally {
      setBusy(false);
    }
    status.current?.focus(); // the button pressed is replaced: the news has the focus
  };
  const join = () =>
    act(async () => {
      let entry: WaitlistEntryView;
      try {
        entry = await api.joinWaitlist(eventId, userName, token);
      } catch (error) {
        // Already in line (joined from elsewhere): show that place rather than the refusal.
        if (!(error instanceof ApiError && error.status === 409)) throw error;
        entry = await api.waitlistPlace(eventId, userName, token).catch(() => Promise.reject(error));
      }
      return { kind: 'in', entry };
    });
  const leave = () =>
    act(async () => {
      await api.leaveWaitlist(eventId, userName, token).catch((error: unknown) => {
        if (!notInLine(error, eventId, userName)) throw error;
      });
      return { kind: 'out' };
    });

  return (
    <section class="waitlist card" aria-labelledby="waitlist-heading" data-testid="waitlist">
      <h2 id="waitlist-heading">Waitlist</h2>
      <div tabIndex={-1} ref={status} role="status" data-testid="waitlist-status">
        {place.kind === 'in' && (
          <p>
            You are number <strong>{place.entry.position}</strong> in line.{' '}
            {place.entry.position === 1
              ? 'The next seat that frees up is booked for you.'
              : 'When your turn comes, a seat is booked for you.'}
          </p>
        )}
        {place.kind === 'out' && <p>Join the line: when a seat frees up, the first in line is booked it.</p>}
        {place.kind === 'seated' && (
          <p class="success">
            You got a seat! It was booked for you. <a href="/bookings">See it in My bookings</a>.
          </p>
        )}
        {place.kind === 'gone' && (
          <p>
            You are no longer in line.{' '}
            {token
              ? 'No booking of yours for this event was found.'
              : 'If a seat was booked for you, sign in with your access token to see it under My bookings.'}
          </p>
        )}
      </div>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {place.kind === 'in' ? (
        <button type="button" onClick={leave} disabled={busy} aria-busy={busy}>
          Leave the waitlist
        </button>
      ) : place.kind !== 'seated' ? (
        <button type="button" class="primary" onClick={join} disabled={busy} aria-busy={busy}>
          Join the waitlist
        </button>
      ) : null}
    </section>
  );
}
