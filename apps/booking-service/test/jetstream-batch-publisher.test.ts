import { PrivateNatsServer } from '@booking/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamBatchPublisher } from '../src/outbox/jetstream-batch-publisher.js';

describe('JetStreamBatchPublisher', () => {
  let nats: PrivateNatsServer;
  let connection: NatsConnection;
  let publisher: JetStreamBatchPublisher;

  beforeAll(async () => {
    nats = await PrivateNatsServer.start();
    connection = await connect({ servers: nats.url });
    const manager = await jetstreamManager(connection);
    await manager.streams.add({ name: 'PUBLISHER_TEST', subjects: ['stored.>'], duplicate_window: 60_000_000_000 });
    publisher = new JetStreamBatchPublisher(connection, 500);
  });
  afterAll(async () => {
    publisher?.close();
    await connection?.close();
    await nats?.dispose();
  });

  const storedMessages = async () => (await (await jetstreamManager(connection)).streams.info('PUBLISHER_TEST')).state;

  it('stores a batch in order and reports each message as stored', async () => {
    const before = (await storedMessages()).last_seq;
    const messages = Array.from({ length: 300 }, (_, i) => ({
      subject: 'stored.order',
      data: JSON.stringify({ n: i }),
      msgID: `order-${i}`,
    }));
    expect(await publisher.publish(messages)).toEqual(messages.map(() => undefined));
    const manager = await jetstreamManager(connection);
    const first = await manager.streams.getMessage('PUBLISHER_TEST', { seq: before + 1 });
    const last = await manager.streams.getMessage('PUBLISHER_TEST', { seq: before + 300 });
    expect([first?.json(), last?.json()]).toEqual([{ n: 0 }, { n: 299 }]);
  });

  it('reports a re-sent message id as stored, and JetStream keeps one copy', async () => {
    const before = (await storedMessages()).messages;
    const message = { subject: 'stored.duplicate', data: '{}', msgID: 'duplicate-1' };
    expect(await publisher.publish([message])).toEqual([undefined]);
    expect(await publisher.publish([message, message])).toEqual([undefined, undefined]);
    expect((await storedMessages()).messages).toBe(before + 1);
  });

  it('reports a message no stream captures, and still stores the others of its batch', async () => {
    const outcomes = await publisher.publish([
      { subject: 'stored.mixed', data: '{}', msgID: 'mixed-1' },
      { subject: 'nowhere.mixed', data: '{}', msgID: 'mixed-2' },
    ]);
    expect(outcomes[0]).toBeUndefined();
    expect(outcomes[1]?.message).toMatch(/JetStream refused the message: 503/);
  });

  it('gives up on a message nobody acknowledges once the timeout passes', async () => {
    // A plain subscriber takes the message and never answers, so no "no responders" reply comes either.
    const silent = connection.subscribe('silent.subject');
    const started = Date.now();
    const [outcome] = await publisher.publish([{ subject: 'silent.subject', data: '{}', msgID: 'silent-1' }]);
    expect(outcome?.message).toMatch(/did not acknowledge within 500 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    silent.unsubscribe();
  });

  it('reports a message answered with something other than an acknowledgement', async () => {
    const impostor = connection.subscribe('impostor.subject', {
      callback: (_error, message) => message.respond('oops'),
    });
    await connection.flush();
    const [outcome] = await publisher.publish([{ subject: 'impostor.subject', data: '{}', msgID: 'impostor-1' }]);
    expect(outcome?.message).toMatch(/unreadable acknowledgement/);
    impostor.unsubscribe();
    // The publisher still works afterwards.
    expect(await publisher.publish([{ subject: 'stored.after', data: '{}', msgID: 'after-1' }])).toEqual([undefined]);
  });

  it('reports every message of a batch sent on a closed connection', async () => {
    const closing = await connect({ servers: nats.url });
    const closed = new JetStreamBatchPublisher(closing, 500);
    await closing.close();
    const outcomes = await closed.publish([
      { subject: 'stored.closed', data: '{}', msgID: 'closed-1' },
      { subject: 'stored.closed', data: '{}', msgID: 'closed-2' },
    ]);
    expect(outcomes.map((outcome) => outcome instanceof Error)).toEqual([true, true]);
  });

  it('resolves an empty batch at once', async () => {
    expect(await publisher.publish([])).toEqual([]);
  });
});
