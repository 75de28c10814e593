import {
  BookingSubjects,
  MAX_RESERVATIONS_PER_MESSAGE,
  type BookingView,
  type ReserveBatchCommand,
  type ReserveCommand,
  type ServiceReply,
} from '@booking/shared';

/** Sends one request to the booking service and returns its reply (`NatsTransport.request`). */
export type SendRequest = <T>(
  subject: string,
  payload: object,
  requestId: string | undefined,
  deadline: number,
) => Promise<ServiceReply<T>>;

/** Stands in for a reply that breaks the contract: it is refused as any malformed reply is (`replyData`). */
const MALFORMED_REPLY: unknown = { malformed: true };

interface Pending {
  command: ReserveCommand;
  requestId: string | undefined;
  /** When its caller stops waiting (epoch ms). */
  deadline: number;
  resolve: (reply: ServiceReply<BookingView>) => void;
  reject: (error: unknown) => void;
}

/**
 * The gateway's side of reservation batching: sends the reservations that
 * reach this gateway in one turn of its event loop as one
 * `booking.reserve.batch` message, answered by one reply listing each answer
 * in order (the booking service's `ReservationBatcher` then writes them
 * together). A lone reservation goes as a plain `booking.reserve`. Under a
 * flash sale this turns hundreds of NATS requests and replies a second into a
 * few dozen, on the gateway, NATS and the booking service alike; it adds no
 * wait, since the message leaves at the end of the turn in which the
 * reservations arrived.
 *
 * Each caller gets exactly the answer its reservation would have had alone: a
 * failure of the message (no reply in time, no responders) is each caller's
 * failure, and an error reply for the whole message is each caller's reply.
 */
export class ReservationBatchSender {
  private pending: Pending[] = [];

  /** `sent` hears the size of each message (for the `booking_reservations_per_message` metric). */
  constructor(
    private readonly send: SendRequest,
    private readonly sent: (reservations: number) => void,
  ) {}

  reserve(
    command: ReserveCommand,
    requestId: string | undefined,
    deadline: number,
  ): Promise<ServiceReply<BookingView>> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ command, requestId, deadline, resolve, reject });
    });
  }

  private flush(): void {
    const gathered = this.pending;
    this.pending = [];
    for (let start = 0; start < gathered.length; start += MAX_RESERVATIONS_PER_MESSAGE) {
      void this.sendMessage(gathered.slice(start, start + MAX_RESERVATIONS_PER_MESSAGE));
    }
  }

  private async sendMessage(batch: Pending[]): Promise<void> {
    this.sent(batch.length);
    try {
      const replies = batch.length === 1 ? [await this.sendOne(batch[0]!)] : await this.sendMany(batch);
      batch.forEach((pending, i) => pending.resolve(replies[i]!));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }

  private sendOne({ command, requestId, deadline }: Pending): Promise<ServiceReply<BookingView>> {
    return this.send<BookingView>(BookingSubjects.reserve, command, requestId, deadline);
  }

  private async sendMany(batch: Pending[]): Promise<ServiceReply<BookingView>[]> {
    const message: ReserveBatchCommand = {
      reservations: batch.map(({ command, requestId }) => ({ command, request_id: requestId })),
    };
    // The message's deadline is its most urgent reservation's, so no caller waits past its own.
    const deadline = Math.min(...batch.map((pending) => pending.deadline));
    const reply = await this.send<ServiceReply<BookingView>[]>(
      BookingSubjects.reserveBatch,
      message,
      undefined,
      deadline,
    );
    if (reply?.ok && Array.isArray(reply.data) && reply.data.length === batch.length) return reply.data;
    // An error reply for the whole message is each caller's; a malformed one is passed on for the client to refuse.
    return batch.map(() => (reply?.ok === false ? reply : (MALFORMED_REPLY as ServiceReply<BookingView>)));
  }
}
