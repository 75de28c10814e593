import type { EventView } from '../api.js';
import { formatLongTime, formatTime } from '../dates.js';
import { formatCountdown, type SalesPhase } from '../sales.js';

/** When and where, as a definition list; what is not set is left out. */
export function EventFacts({ event, long = false }: { event: EventView; long?: boolean }) {
  if (!event.starts_at && !event.venue) return null;
  const when = long ? formatLongTime : formatTime;
  return (
    <dl class="facts" data-testid="event-facts">
      {event.starts_at && (
        <div>
          <dt>When</dt>
          <dd>
            <time dateTime={event.starts_at} data-testid="starts-at">
              {when(event.starts_at)}
            </time>
          </dd>
        </div>
      )}
      {event.venue && (
        <div>
          <dt>Where</dt>
          <dd data-testid="venue">{event.venue}</dd>
        </div>
      )}
    </dl>
  );
}

/**
 * The sales window in words: a countdown to the opening (a timer: screen readers read it when asked, not every
 * second), until when it is on sale, or that sales are over.
 */
export function SalesStatus({ phase, now }: { phase: SalesPhase; now: number }) {
  let text: string | undefined;
  let time: number | undefined;
  switch (phase.phase) {
    case 'not-open':
      text = `Sales open in ${formatCountdown(phase.opensAt - now)}`;
      time = phase.opensAt;
      break;
    case 'open':
      if (phase.closesAt === undefined) return null;
      text = 'On sale until';
      time = phase.closesAt;
      break;
    case 'closed':
      text = 'Sales closed on';
      time = phase.closedAt;
      break;
    case 'started':
      text = 'This event started on';
      time = phase.startedAt;
      break;
  }
  const iso = new Date(time).toISOString();
  return (
    <p class={`sales-status ${phase.phase}`} data-testid="sales-status" data-phase={phase.phase}>
      {phase.phase === 'not-open' ? (
        <>
          <strong role="timer" aria-atomic="true" data-testid="countdown">
            {text}
          </strong>{' '}
          <span class="hint">
            (<time dateTime={iso}>{formatLongTime(time)}</time>)
          </span>
        </>
      ) : (
        <>
          {text} <time dateTime={iso}>{formatLongTime(time)}</time>.
        </>
      )}
    </p>
  );
}
