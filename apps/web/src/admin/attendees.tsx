import { MAX_LIST_SIZE } from '@booking/shared';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type EventView } from '../api.js';
import { formatTime } from '../dates.js';
import { LoadStatus } from '../load-status.js';
import { useLoad } from '../use-load.js';
import { refusalOf, reportAdminFailure, type AdminProps } from './admin-session.js';

/** Attendees shown at first, and added by each "Show more". */
const ATTENDEES_PAGE = 50;

/** The event's bookings as the API lists them (oldest first, capped by the API), shown a page at a time. */
export function Attendees({ event, token, onSignOut }: AdminProps & { event: EventView }) {
  const [list, reload] = useLoad(() => api.listBookings(token, { event_id: event.id }), [event.id, token]);
  const [shown, setShown] = useState(ATTENDEES_PAGE);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []); // the list appears below the button that asked for it
  const refusal = list.status === 'error' ? refusalOf(list.error) : undefined;
  useEffect(() => {
    if (refusal) onSignOut(refusal);
  }, [refusal]);
  const bookings = list.status === 'ready' ? list.data : [];

  return (
    <section aria-labelledby="attendees-heading" data-testid="attendees">
      <h2 id="attendees-heading" tabIndex={-1} ref={heading}>
        Attendees of {event.name}
      </h2>
      <LoadStatus load={list} loading="Loading attendees…" />
      {list.status === 'ready' && bookings.length === 0 && <p>No bookings yet.</p>}
      {bookings.length > 0 && (
        <>
          <p data-testid="attendees-count">
            {`Showing ${Math.min(shown, bookings.length)} of ${bookings.length} `}
            {bookings.length === 1 ? 'booking.' : 'bookings, oldest first.'}
            {bookings.length >= MAX_LIST_SIZE && ` The gateway lists the oldest ${MAX_LIST_SIZE} only.`}
          </p>
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">ID</th>
                  <th scope="col">User</th>
                  <th scope="col">Booked at</th>
                </tr>
              </thead>
              <tbody>
                {bookings.slice(0, shown).map((booking) => (
                  <tr key={booking.id} data-testid="attendee">
                    <td>{booking.id}</td>
                    <td class="user-id">{booking.user_id}</td>
                    <td class="time">{formatTime(booking.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <p class="actions">
        {shown < bookings.length && (
          <button type="button" onClick={() => setShown(shown + ATTENDEES_PAGE)}>
            Show {Math.min(ATTENDEES_PAGE, bookings.length - shown)} more
          </button>
        )}
        <button type="button" onClick={reload}>
          Refresh
        </button>
        <DownloadCsv event={event} token={token} onSignOut={onSignOut} />
      </p>
    </section>
  );
}

/**
 * Every booking of the event as a CSV file. The export route takes the admin token in a header, which a link
 * cannot send: the file is fetched, then handed to the browser as a download.
 */
function DownloadCsv({ event, token, onSignOut }: AdminProps & { event: EventView }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const download = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      const file = await api.bookingsCsv(event.id, token);
      const url = URL.createObjectURL(file);
      const link = document.createElement('a');
      link.href = url;
      link.download = `event-${event.id}-bookings.csv`;
      link.click();
      // Freed once the browser has surely read it.
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      reportAdminFailure(error, onSignOut, setProblem);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" onClick={download} disabled={busy} aria-busy={busy}>
        {busy ? 'Preparing the CSV…' : 'Download all as CSV'}
      </button>
      {problem && (
        <span class="error" role="alert">
          {problem}
        </span>
      )}
    </>
  );
}
