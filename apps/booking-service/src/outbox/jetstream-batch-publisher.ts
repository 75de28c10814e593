import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';

export interface OutgoingMessage {
  subject: string;
  data: string;
  /** JetStream drops a second message with the same id within the stream's duplicate window. */
  msgID: string;
}

interface PendingBatch {
  /** Per message: WAITING until its acknowledgement arrives, then undefined (stored) or why not. */
  outcomes: (Error | undefined | typeof WAITING)[];
  waiting: number;
  finish: () => void;
}

const WAITING = Symbol('waiting');

/**
 * Publishes a batch of messages to JetStream and collects each one's
 * acknowledgement, as `JetStreamClient.publish` does for one message. Every
 * message goes out as a plain publish whose reply subject names its batch and
 * place in this publisher's inbox; one subscription and one timer serve every
 * batch. The client's `publish` makes a request per message (a timer, a promise
 * and an error object each), several times the CPU a message costs this way
 * (docs/performance.md). Written here because the client has no acknowledged
 * batch publish before NATS 2.12's atomic batches.
 */
export class JetStreamBatchPublisher {
  private readonly inbox: string;
  private readonly subscription: Subscription;
  private readonly batches = new Map<number, PendingBatch>();
  private nextBatch = 0;

  /** `inboxPrefix`: the connection's (`natsInboxPrefix`), where its credentials may receive. */
  constructor(
    private readonly nats: NatsConnection,
    private readonly timeoutMs: number,
    inboxPrefix?: string,
  ) {
    this.inbox = createInbox(inboxPrefix);
    this.subscription = nats.subscribe(`${this.inbox}.*.*`, {
      callback: (error, msg) => {
        if (!error) this.acknowledged(msg);
      },
    });
  }

  /**
   * Sends the messages in order on one connection (so the stream stores them in
   * order) and resolves once each is acknowledged, refused or out of time:
   * undefined for a stored message (a duplicate included), else the reason.
   */
  publish(messages: readonly OutgoingMessage[]): Promise<(Error | undefined)[]> {
    if (messages.length === 0) return Promise.resolve([]);
    const id = this.nextBatch++;
    return new Promise((resolve) => {
      const batch: PendingBatch = {
        outcomes: messages.map(() => WAITING),
        waiting: messages.length,
        finish: () => {
          clearTimeout(timer);
          this.batches.delete(id);
          const late = new Error(`JetStream did not acknowledge within ${this.timeoutMs} ms`);
          resolve(batch.outcomes.map((outcome) => (outcome === WAITING ? late : outcome)));
        },
      };
      const timer = setTimeout(batch.finish, this.timeoutMs);
      this.batches.set(id, batch);
      for (const [index, message] of messages.entries()) {
        try {
          const messageHeaders = headers();
          messageHeaders.set('Nats-Msg-Id', message.msgID);
          this.nats.publish(message.subject, message.data, {
            headers: messageHeaders,
            reply: `${this.inbox}.${id}.${index}`,
          });
        } catch (error) {
          // A closed connection: this message and the ones after it never left.
          this.settle(batch, index, error instanceof Error ? error : new Error(String(error)));
        }
      }
    });
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  private acknowledged(msg: Msg): void {
    const tokens = msg.subject.split('.');
    const batch = this.batches.get(Number(tokens[tokens.length - 2]));
    if (batch) this.settle(batch, Number(tokens[tokens.length - 1]), refusal(msg));
  }

  private settle(batch: PendingBatch, index: number, outcome: Error | undefined): void {
    if (batch.outcomes[index] !== WAITING) return;
    batch.outcomes[index] = outcome;
    if (--batch.waiting === 0) batch.finish();
  }
}

/** Why JetStream did not store the message, or undefined when it did. */
function refusal(msg: Msg): Error | undefined {
  // A status reply: 503 when no stream captures the subject.
  if (msg.headers?.hasError)
    return new Error(`JetStream refused the message: ${msg.headers.code} ${msg.headers.description}`);
  let ack: { stream?: string; error?: { description?: string } };
  try {
    ack = msg.json();
  } catch {
    return new Error('JetStream sent an unreadable acknowledgement');
  }
  if (ack.error) return new Error(`JetStream refused the message: ${ack.error.description ?? 'unknown error'}`);
  return ack.stream ? undefined : new Error('JetStream sent an acknowledgement without a stream');
}
