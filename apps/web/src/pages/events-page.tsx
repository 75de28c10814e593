import { api } from '../api.js';
import { seatsLeft, useLiveSeats } from '../live.js';
import { Seats } from '../seats.js';
import { LoadStatus } from '../load-status.js';
import { useLoad } from '../use-load.js';

export function EventsPage() {
  const [events] = useLoad(() => api.listEvents(), []);
  const { seats } = useLiveSeats();
  return (
    <section aria-labelledby="events-heading">
      <h1 id="events-heading">Events</h1>
      <LoadStatus load={events} loading="Loading events…" />
      {events.status === 'ready' && events.data.length === 0 && <p>No events yet.</p>}
      {events.status === 'ready' && events.data.length > 0 && (
        <ul class="cards">
          {events.data.map((event) => {
            const left = seatsLeft(event, seats);
            return (
              <li
                key={event.id}
                class={left <= 0 ? 'card full' : 'card'}
                data-testid="event-card"
                data-event-id={event.id}
              >
                <h2>
                  <a href={`/events/${event.id}`}>{event.name}</a>
                </h2>
                <Seats left={left} total={event.total_seats} />
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
