import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type BookingView, type EventView } from '../api.js';
import { bookingsMadeHere } from '../booking-keys.js';
import { BookingPanel } from '../event/booking-panel.js';
import { EventFacts, SalesStatus } from '../event/event-facts.js';
import { WaitlistPanel } from '../event/waitlist-panel.js';
import { seatsLeft, useLiveSeats } from '../live.js';
import { Seats } from '../seats.js';
import { useSession } from '../session.js';
import { useLoad } from '../use-load.js';
import { useSalesPhase } from '../use-sales-phase.js';
import { WaitingRoomNotice } from '../waiting-room-notice.js';
import { NotFoundPage } from './not-found-page.js';

export function EventPage({ id }: { id: string }) {
  if (!/^[1-9]\d{0,9}$/.test(id)) return <NotFoundPage />;
  // A fresh page per event: the router reuses this component when only the id changes.
  return <EventLoader key={id} eventId={Number(id)} />;
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

/**
 * The event as the server has it, read again whenever the live feed reports a change of it (a booking, or
 * an organiser's change of its details or sales window): the page keeps what it shows meanwhile.
 */
function EventLoader({ eventId }: { eventId: number }) {
  const { seats } = useLiveSeats();
  const liveUpdate = seats.get(eventId);
  const [version, setVersion] = useState(0);
  const seen = useRef(liveUpdate); // a figure from before this page opened is no news
  useEffect(() => {
    if (liveUpdate === seen.current) return;
    seen.current = liveUpdate;
    setVersion((value) => value + 1);
  }, [liveUpdate]);
  const [event] = useLoad(() => api.getEvent(eventId), [eventId, version]);

  if (event.status === 'loading') return <p>Loading…</p>;
  if (event.status === 'error') {
    return (
      <p class="error" role="alert">
        {event.message}
      </p>
    );
  }
  return <EventDetails event={event.data} left={seatsLeft(event.data, seats)} liveVersion={liveUpdate} />;
}

interface EventDetailsProps {
  event: EventView;
  left: number;
  liveVersion: unknown;
}

function EventDetails({ event, left, liveVersion }: EventDetailsProps) {
  const eventId = event.id;
  const { userName, userToken } = useSession();
  const token = userToken || undefined;
  const [held] = useLoad<BookingView | undefined>(
    () => bookingHeldBy(userName, token, eventId),
    [userName, token, eventId],
  );
  /** The name this page booked for, or was told holds a seat: known before any list says so. */
  const [bookedAs, setBookedAs] = useState<string>();
  const { phase, now } = useSalesPhase(event);
  const holdsSeat =
    bookedAs === userName ? true : held.status === 'loading' ? undefined : held.status === 'ready' && !!held.data;

  const checkBooked = async () => {
    const booked = (await bookingHeldBy(userName, token, eventId)) !== undefined;
    if (booked) setBookedAs(userName);
    return booked;
  };

  return (
    <section aria-labelledby="event-heading">
      <p>
        <a href="/">← All events</a>
      </p>
      <h1 id="event-heading">{event.name}</h1>
      <EventFacts event={event} long />
      {event.description && (
        <p class="description" data-testid="description">
          {event.description}
        </p>
      )}
      <p class="big" aria-live="polite">
        <Seats left={left} total={event.total_seats} />
      </p>
      <WaitingRoomNotice eventId={eventId} />
      <SalesStatus phase={phase} now={now} />
      <BookingPanel
        eventId={eventId}
        userName={userName}
        token={token}
        left={left}
        phase={phase}
        holdsSeat={holdsSeat}
        onHeld={() => setBookedAs(userName)}
      />
      {userName && phase.phase === 'open' && (
        <WaitlistPanel
          key={userName}
          eventId={eventId}
          userName={userName}
          token={token}
          liveVersion={liveVersion}
          soldOut={left <= 0}
          holdsSeat={holdsSeat}
          checkBooked={checkBooked}
        />
      )}
    </section>
  );
}
