import { useState } from 'preact/hooks';
import { api, type EventView } from '../api.js';
import { type AdminProps } from '../admin/admin-session.js';
import { Attendees } from '../admin/attendees.js';
import { CreateEventForm } from '../admin/create-event-form.js';
import { EventEditor } from '../admin/event-editor.js';
import { EventFacts } from '../event/event-facts.js';
import { seatsLeft, useLiveSeats } from '../live.js';
import { LoadStatus } from '../load-status.js';
import { Seats } from '../seats.js';
import { useLoad } from '../use-load.js';

/** What is open below the list, for which event. */
type Chosen = { view: 'attendees' | 'edit'; event: EventView };

/** Create events; list them with their seats (live); for a chosen event, its attendees or the organiser's tools. */
export function AdminDashboard({ token, sub, onSignOut }: AdminProps & { sub: string }) {
  const [events, reloadEvents] = useLoad(() => api.listEvents(), []);
  const { seats } = useLiveSeats();
  const [chosen, setChosen] = useState<Chosen>();
  const isChosen = (view: Chosen['view'], event: EventView) => chosen?.view === view && chosen.event.id === event.id;

  return (
    <>
      <p>
        Signed in with the admin token of <strong data-testid="admin-sub">{sub}</strong>.{' '}
        <button type="button" class="link" onClick={() => onSignOut()}>
          Sign out
        </button>
      </p>
      <CreateEventForm token={token} onSignOut={onSignOut} onCreated={reloadEvents} />
      <h2 id="admin-events-heading">Events</h2>
      <LoadStatus load={events} loading="Loading events…" />
      {events.status === 'ready' && events.data.length === 0 && <p>No events yet.</p>}
      {events.status === 'ready' && events.data.length > 0 && (
        <ul class="cards" aria-labelledby="admin-events-heading">
          {events.data.map((event) => (
            <li key={event.id} class="card" data-testid="admin-event" data-event-id={event.id}>
              <h3>
                <a href={`/events/${event.id}`}>{event.name}</a>
              </h3>
              <EventFacts event={event} />
              <p>
                <Seats left={seatsLeft(event, seats)} total={event.total_seats} />
              </p>
              <p class="actions">
                <button
                  type="button"
                  onClick={() => setChosen({ view: 'attendees', event })}
                  aria-pressed={isChosen('attendees', event)}
                  aria-label={`Attendees of ${event.name}`}
                >
                  Attendees
                </button>
                <button
                  type="button"
                  onClick={() => setChosen({ view: 'edit', event })}
                  aria-pressed={isChosen('edit', event)}
                  aria-label={`Edit ${event.name}`}
                >
                  Edit
                </button>
              </p>
            </li>
          ))}
        </ul>
      )}
      {chosen?.view === 'attendees' && (
        <Attendees key={chosen.event.id} event={chosen.event} token={token} onSignOut={onSignOut} />
      )}
      {chosen?.view === 'edit' && (
        <EventEditor
          key={chosen.event.id}
          event={chosen.event}
          token={token}
          onSignOut={onSignOut}
          onChanged={(event) => {
            setChosen({ view: 'edit', event });
            reloadEvents();
          }}
        />
      )}
    </>
  );
}
