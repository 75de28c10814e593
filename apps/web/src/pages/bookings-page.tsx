import { useState } from 'preact/hooks';
import { api, type BookingView, type EventView } from '../api.js';
import { recordSeats } from '../live.js';
import { useSession } from '../session.js';
import { messageOf, useLoad } from '../use-load.js';

export function BookingsPage() {
  const session = useSession();
  const [data, reload] = useLoad(async () => {
    if (!session.userName) return { bookings: [] as BookingView[], events: new Map<number, EventView>() };
    const [bookings, events] = await Promise.all([
      api.myBookings(session.userName, session.userToken || undefined),
      api.listEvents(),
    ]);
    return { bookings, events: new Map(events.map((event) => [event.id, event])) };
  }, [session.userName, session.userToken]);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string }>();

  const cancel = async (booking: BookingView, eventName: string) => {
    setMessage(undefined);
    try {
      await api.cancel(booking.id, session.userToken || undefined);
      setMessage({ kind: 'success', text: `Cancelled your booking for ${eventName}. The seat is free again.` });
      api.getEvent(booking.event_id).then(recordSeats, () => undefined);
      reload();
    } catch (error) {
      setMessage({ kind: 'error', text: messageOf(error) });
    }
  };

  return (
    <section aria-labelledby="bookings-heading">
      <h1 id="bookings-heading">My bookings</h1>
      {!session.userName && <p>Sign in with your name above to see your bookings.</p>}
      <div aria-live="polite" data-testid="bookings-message">
        {message && (
          <p class={message.kind} role={message.kind === 'error' ? 'alert' : 'status'}>
            {message.text}
          </p>
        )}
      </div>
      {session.userName && data.status === 'loading' && <p>Loading your bookings…</p>}
      {data.status === 'error' && (
        <p class="error" role="alert">
          {data.message}
        </p>
      )}
      {session.userName && data.status === 'ready' && data.data.bookings.length === 0 && <p>You have no bookings.</p>}
      {data.status === 'ready' && data.data.bookings.length > 0 && (
        <ul class="cards">
          {data.data.bookings.map((booking) => {
            const name = data.data.events.get(booking.event_id)?.name ?? `Event ${booking.event_id}`;
            return (
              <li key={booking.id} class="card" data-testid="booking" data-event-id={booking.event_id}>
                <h2>
                  <a href={`/events/${booking.event_id}`}>{name}</a>
                </h2>
                <p>Booked {new Date(booking.created_at).toLocaleString()}</p>
                <button type="button" onClick={() => cancel(booking, name)} aria-label={`Cancel booking for ${name}`}>
                  Cancel
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
