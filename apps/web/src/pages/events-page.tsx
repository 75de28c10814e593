import { useState } from 'preact/hooks';
import { api, type EventFilter, type EventView } from '../api.js';
import { formatTime } from '../dates.js';
import { EventFacts } from '../event/event-facts.js';
import { seatsLeft, useLiveSeats } from '../live.js';
import { LoadStatus } from '../load-status.js';
import { salesPhase } from '../sales.js';
import { Seats } from '../seats.js';
import { messageOf, useLoad } from '../use-load.js';

/** Events per page, first and with each "Show more". */
export const EVENTS_PAGE = 24;

const FILTERS = {
  all: { label: 'All', filter: {} },
  upcoming: { label: 'Upcoming', filter: { upcoming: true } },
  onSale: { label: 'On sale now', filter: { on_sale: true } },
  soldOut: { label: 'Sold out', filter: { sold_out: true } },
} satisfies Record<string, { label: string; filter: EventFilter }>;
type FilterName = keyof typeof FILTERS;

export function EventsPage() {
  const [shown, setShown] = useState<FilterName>('all');
  return (
    <section aria-labelledby="events-heading">
      <h1 id="events-heading">Events</h1>
      <fieldset class="filters">
        <legend>Show</legend>
        {(Object.keys(FILTERS) as FilterName[]).map((name) => (
          <label key={name}>
            <input type="radio" name="filter" value={name} checked={shown === name} onChange={() => setShown(name)} />
            {FILTERS[name].label}
          </label>
        ))}
      </fieldset>
      {/* A fresh list per filter: its pages start over. */}
      <EventList key={shown} filter={FILTERS[shown].filter} />
    </section>
  );
}

/** The first page of the events that pass `filter`, and the pages after it on request. */
function EventList({ filter }: { filter: EventFilter }) {
  const [first] = useLoad(() => api.listEventsPage(EVENTS_PAGE, filter), []);
  const [more, setMore] = useState<{ items: EventView[]; nextCursor?: string }>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [problem, setProblem] = useState<string>();
  const { seats } = useLiveSeats();

  if (first.status !== 'ready') return <LoadStatus load={first} loading="Loading events…" />;
  const events = [...first.data.items, ...(more?.items ?? [])];
  const nextCursor = more ? more.nextCursor : first.data.nextCursor;
  const showMore = async () => {
    setLoadingMore(true);
    setProblem(undefined);
    try {
      const page = await api.listEventsPage(EVENTS_PAGE, filter, nextCursor);
      setMore({ items: [...(more?.items ?? []), ...page.items], nextCursor: page.nextCursor });
    } catch (error) {
      setProblem(messageOf(error));
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <>
      {events.length === 0 && <p>{Object.keys(filter).length === 0 ? 'No events yet.' : 'No events match.'}</p>}
      {events.length > 0 && (
        <ul class="cards" aria-labelledby="events-heading">
          {events.map((event) => (
            <EventCard key={event.id} event={event} left={seatsLeft(event, seats)} />
          ))}
        </ul>
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      {nextCursor && (
        <p class="actions more">
          <button type="button" onClick={showMore} disabled={loadingMore} aria-busy={loadingMore}>
            {loadingMore ? 'Loading…' : 'Show more events'}
          </button>
        </p>
      )}
    </>
  );
}

function EventCard({ event, left }: { event: EventView; left: number }) {
  // When the card was drawn: the list is an overview, the event's page counts down.
  const sales = salesPhase(event, Date.now());
  return (
    <li class={left <= 0 ? 'card full' : 'card'} data-testid="event-card" data-event-id={event.id}>
      <h2>
        <a href={`/events/${event.id}`}>{event.name}</a>
      </h2>
      <EventFacts event={event} />
      <p>
        <Seats left={left} total={event.total_seats} />
      </p>
      {sales.phase !== 'open' && (
        <p class="hint" data-testid="card-sales">
          {sales.phase === 'not-open'
            ? `Sales open ${formatTime(sales.opensAt)}`
            : sales.phase === 'closed'
              ? 'Sales closed'
              : 'Started'}
        </p>
      )}
    </li>
  );
}
