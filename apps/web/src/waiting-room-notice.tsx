import { useLoad } from './use-load.js';
import { waitingRoomApi } from './waiting-room.js';

/** On an event's page: says that its sale goes through a waiting room, and leads to the queue. */
export function WaitingRoomNotice({ eventId }: { eventId: number }) {
  const [room] = useLoad(() => waitingRoomApi.room(eventId), [eventId]);
  if (room.status !== 'ready' || room.data === undefined) return null;
  const closed = room.data.state === 'closed';
  return (
    <p class="notice" data-testid="waiting-room-notice">
      {closed ? (
        'This sale went through a waiting room and is sold out.'
      ) : (
        <>
          This sale goes through a waiting room, so that everyone gets a fair turn.{' '}
          <a href={`/events/${eventId}/queue`}>Join the queue</a>
        </>
      )}
    </p>
  );
}
