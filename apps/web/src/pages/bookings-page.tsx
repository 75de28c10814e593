import { useState } from 'preact/hooks';
import { api, type BookingView, type EventView } from '../api.js';
import { accessKeyOf, bookingsMadeHere, forgetBooking } from '../booking-keys.js';
import { recordSeats } from '../live.js';
import { useSession } from '../session.js';
import { messageOf, useLoad } from '../use-load.js';

/**
 * With an access token: the token's own bookings. Without one: the bookings made
 * in this browser, each read with the key it came with. Never anyone's by name.
 */
export function BookingsPage() {
  const session = useSession();
  const token = session.userToken || undefined;
  const [data, reload] = useLoad(async () => {
    const [bookings, events] = await Promise.all([
      token ? api.myBookings(token) : bookingsMadeHere(),
      api.listEvents(),
    ]);
    return { bookings, events: new Map<number, EventView>(events.map((event) => [event.id, event])) };
  }, [token]);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string }>();

  const cancel = async (booking: BookingView, eventName: string) => {
    setMessage(undefined);
    try {
      await api.cancel(booking.id, { token, accessKey: accessKeyOf(booking.id) });
      forgetBooking(booking.id);
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
      <p class="hint" data-testid="bookings-scope">
        {token
          ? 'The bookings of your access token.'
          : 'The bookings made in this browser. Sign in with an access token to see all of yours.'}
      </p>
      <div aria-live="polite" data-testid="bookings-message">
        {message && (
          <p class={message.kind} role={message.kind === 'error' ? 'alert' : 'status'}>
            {message.text}
          </p>
        )}
      </div>
      {data.status === 'loading' && <p>Loading your bookings…</p>}
      {data.status === 'error' && (
        <p class="error" role="alert">
          {data.message}
        </p>
      )}
      {data.status === 'ready' && data.data.bookings.length === 0 && <p>You have no bookings.</p>}
      {data.status === 'ready' && data.data.bookings.length > 0 && (
        <ul class="cards">
          {data.data.bookings.map((booking) => {
            const name = data.data.events.get(booking.event_id)?.name ?? `Event ${booking.event_id}`;
            return (
              <li key={booking.id} class="card" data-testid="booking" data-event-id={booking.event_id}>
                <h2>
                  <a href={`/events/${booking.event_id}`}>{name}</a>
                </h2>
                <p>
                  Booked for {booking.user_id}, {new Date(booking.created_at).toLocaleString()}
                </p>
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
