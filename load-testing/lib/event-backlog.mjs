// The booking events still to handle after a load stops: the outbox rows the
// relay has not yet published, and what JetStream's durable consumers have not
// yet acknowledged (num_pending + num_ack_pending).
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const POLL_INTERVAL_MS = 50;

/** Messages the durable consumers of `stream` have not yet had acknowledged; 0 when there are none. */
export async function consumersBacklog(manager, stream) {
  let backlog = 0;
  for await (const info of manager.consumers.list(stream)) {
    if (info.config.durable_name) backlog += info.num_pending + info.num_ack_pending;
  }
  return backlog;
}

/** Polls `read` until it returns 0; the ms from `since` (a performance.now()) until then, or undefined after `timeoutMs`. */
export async function msUntilZero(read, timeoutMs, since = performance.now()) {
  while (performance.now() - since < timeoutMs) {
    if ((await read()) === 0) return Math.round(performance.now() - since);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  return undefined;
}

export class EventBacklog {
  constructor(nats, manager, stream, pool) {
    this.nats = nats;
    this.manager = manager;
    this.stream = stream;
    this.pool = pool;
  }

  /** Watches `stream` on `natsUrl` and the outbox in `pool`'s database. */
  static async connect(natsUrl, stream, pool) {
    const nats = await connect({ servers: natsUrl, name: 'bench', timeout: 5_000 });
    return new EventBacklog(nats, await jetstreamManager(nats, { timeout: 5_000 }), stream, pool);
  }

  /** `{ outbox, consumers }`: events not yet on the stream, and on it but not yet handled. */
  async read() {
    const { rows } = await this.pool.query('SELECT count(*)::int AS n FROM outbox_pending');
    return { outbox: rows[0].n, consumers: await consumersBacklog(this.manager, this.stream) };
  }

  /** The stream's last sequence number: its difference over a run is the events the run produced. */
  async lastSequence() {
    return (await this.manager.streams.info(this.stream)).state.last_seq;
  }

  /** Ms from `since` until nothing is left in the outbox or for a consumer, or undefined after `timeoutMs`. */
  waitDrained(timeoutMs, since) {
    return msUntilZero(
      async () => {
        const { outbox, consumers } = await this.read();
        return outbox + consumers;
      },
      timeoutMs,
      since,
    );
  }

  close() {
    return this.nats.close();
  }
}
