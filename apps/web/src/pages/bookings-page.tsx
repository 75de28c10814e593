import { useRef, useState } from 'preact/hooks';
import { api, type EventView } from '../api.js';
import { accessKeyOf, bookingsMadeHere, forgetBooking, heldBookings, rememberCancelled } from '../booking-keys.js';
import type { HeldBooking } from '../booking-keys.js';
import { ConfirmDialog } from '../confirm-dialog.js';
import { formatTime } from '../dates.js';
import { recordSeats } from '../live.js';
import { useSession } from '../session.js';
import { LoadStatus } from '../load-status.js';
import { messageOf, useLoad } from '../use-load.js';

/**
 * With an access token: the token's own bookings. Without one: the bookings made in this browser, each read with
 * the key it came with. Never anyone's by name. Bookings cancelled here (or found cancelled) stay, marked so.
 */
async function loadBookings(token: string | undefined, userName: string): Promise<HeldBooking[]> {
  if (!token) return bookingsMadeHere();
  const active = await api.listBookings(token);
  const listed = new Set(active.map((booking) => booking.id));
  const cancelledHere = heldBookings().filter(
    (held) => held.cancelledAt !== undefined && held.booking.user_id === userName && !listed.has(held.booking.id),
  );
  return [...active.map((booking) => ({ booking })), ...cancelledHere];
}

export function BookingsPage() {
  const { userName, userToken } = useSession();
  const token = userToken || undefined;
  const [data, reload] = useLoad(async () => {
    const [bookings, events] = await Promise.all([loadBookings(token, userName), api.listEvents()]);
    return { bookings, events: new Map<number, EventView>(events.map((event) => [event.id, event])) };
  }, [token, userName]);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string }>();
  const [confirming, setConfirming] = useState<{ held: HeldBooking; eventName: string }>();
  const messageRef = useRef<HTMLDivElement>(null);

  const cancel = async ({ booking }: HeldBooking, eventName: string) => {
    setMessage(undefined);
    try {
      rememberCancelled(await api.cancel(booking.id, { token, accessKey: accessKeyOf(booking.id) }));
      setMessage({ kind: 'success', text: `Cancelled your booking for ${eventName}. The seat is free again.` });
      api.getEvent(booking.event_id).then(recordSeats, () => undefined);
      reload();
    } catch (error) {
      setMessage({ kind: 'error', text: messageOf(error) });
    }
    // The button that was focused is gone (or about to be): keep keyboard and screen-reader users where the news is.
    messageRef.current?.focus();
  };

  const bookings = data.status === 'ready' ? data.data.bookings : [];
  const active = bookings.filter((held) => held.cancelledAt === undefined);
  const cancelled = bookings.filter((held) => held.cancelledAt !== undefined);
  const eventName = (eventId: number) =>
    (data.status === 'ready' && data.data.events.get(eventId)?.name) || `Event ${eventId}`;

  return (
    <section aria-labelledby="bookings-heading">
      <h1 id="bookings-heading">My bookings</h1>
      <p class="hint" data-testid="bookings-scope">
        {token
          ? 'The bookings of your access token.'
          : 'The bookings made in this browser. Sign in with an access token to see all of yours.'}
      </p>
      <div aria-live="polite" data-testid="bookings-message" tabIndex={-1} ref={messageRef}>
        {message && (
          <p class={message.kind} role={message.kind === 'error' ? 'alert' : 'status'}>
            {message.text}
          </p>
        )}
      </div>
      <LoadStatus load={data} loading="Loading your bookings…" />
      {data.status === 'ready' && active.length === 0 && (
        <p>{cancelled.length > 0 ? 'You have no active bookings.' : 'You have no bookings.'}</p>
      )}
      {active.length > 0 && (
        <ul class="cards">
          {active.map((held) => {
            const name = eventName(held.booking.event_id);
            return (
              <li key={held.booking.id} class="card" data-testid="booking" data-event-id={held.booking.event_id}>
                <h2>
                  <a href={`/events/${held.booking.event_id}`}>{name}</a>
                </h2>
                <p>
                  Booked for {held.booking.user_id}, {formatTime(held.booking.created_at)}
                </p>
                <button
                  type="button"
                  onClick={() => setConfirming({ held, eventName: name })}
                  aria-label={`Cancel booking for ${name}`}
                >
                  Cancel
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {cancelled.length > 0 && (
        <>
          <h2 class="section-heading">Cancelled</h2>
          <ul class="cards">
            {cancelled.map((held) => {
              const name = eventName(held.booking.event_id);
              return (
                <li
                  key={held.booking.id}
                  class="card cancelled"
                  data-testid="cancelled-booking"
                  data-event-id={held.booking.event_id}
                >
                  <h3>
                    <a href={`/events/${held.booking.event_id}`}>{name}</a>
                  </h3>
                  <p>
                    <span class="badge">Cancelled</span> {formatTime(held.cancelledAt!)}
                  </p>
                  <p class="hint">
                    Was booked for {held.booking.user_id}, {formatTime(held.booking.created_at)}
                  </p>
                  <button
                    type="button"
                    class="link"
                    onClick={() => {
                      forgetBooking(held.booking.id);
                      reload();
                    }}
                    aria-label={`Remove the cancelled booking for ${name} from this list`}
                  >
                    Remove from list
                  </button>
                </li>
              );
            })}
          </ul>
        </>
      )}
      {confirming && (
        <ConfirmDialog
          title="Cancel this booking?"
          confirmLabel="Cancel booking"
          keepLabel="Keep booking"
          onConfirm={() => void cancel(confirming.held, confirming.eventName)}
          onClose={() => setConfirming(undefined)}
        >
          <p>
            Your seat for <strong>{confirming.eventName}</strong> is given up, and someone else can book it. This cannot
            be undone.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
