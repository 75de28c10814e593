import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { TcpProxy, waitUntil } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNothingStuck } from '../../api-gateway/test/faults/fault-load.js';
import { Stack } from '../../api-gateway/test/support/stack.js';

const EVENTS = 300;
/** Limits short enough for a test, in the same proportions as the defaults. */
const LIMITS = {
  DATABASE_STATEMENT_TIMEOUT_MS: '1000',
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '2000',
  NOTIFICATION_ACK_WAIT_MS: '2000',
  SHUTDOWN_TIMEOUT_MS: '3000',
};

/**
 * The notification service's PostgreSQL connections going silent mid-transaction
 * (the server keeps the sessions, idle in transaction, holding the rows they
 * inserted), then the service killed and restarted: the sessions it left are
 * ended by PostgreSQL, and every event is recorded once. And SIGTERM while
 * PostgreSQL hangs ends the service within SHUTDOWN_TIMEOUT_MS.
 */
describe('notification service and PostgreSQL faults', () => {
  let stack: Stack;
  let proxy: TcpProxy;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 1 });
    proxy = await TcpProxy.start(5432);
    const eventId = await stack.db.createEvent(EVENTS);
    const responses = await Promise.all(
      Array.from({ length: EVENTS }, (_, i) => stack.reserve({ event_id: eventId, user_id: `fan-${i}` })),
    );
    expect(responses.every((response) => response.status === 201)).toBe(true);
    await stack.outboxDrained();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    proxy?.resume();
    await stack?.stop();
    await proxy?.stop();
  });

  /** The notification service as a child process, reaching PostgreSQL through the proxy. */
  async function startService(): Promise<ChildProcess> {
    await stack.startNotificationProcess({ ...LIMITS, DATABASE_URL: proxy.urlFor(stack.db.url) });
    return stack.children.at(-1)!;
  }

  const received = async () =>
    Number((await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM notifications.received_events')).rows[0]!.n);

  const exit = (process_: ChildProcess, signal: NodeJS.Signals) =>
    new Promise<number>((resolve) => {
      const sentAt = Date.now();
      process_.once('exit', () => resolve(Date.now() - sentAt));
      process_.kill(signal);
    });

  it('connections gone silent mid-transaction, the service killed and restarted: every event recorded once', async () => {
    child = await startService();
    await waitUntil(async () => (await received()) >= 30, 20_000, 'first events recorded');
    proxy.silenceExisting();
    await sleep(500);
    await exit(child, 'SIGKILL');
    const restartedAt = Date.now();
    child = await startService();
    // A batch's outcomes are written by the statement after the one that records it: wait for both.
    const delivered = async () =>
      Number(
        (
          await stack.db.query<{ n: string }>(
            "SELECT count(*) AS n FROM notifications.deliveries WHERE channel = 'log' AND status = 'delivered'",
          )
        ).rows[0]!.n,
      );
    await waitUntil(async () => (await delivered()) === EVENTS, 30_000, 'every event delivered');
    console.info(`notification service: every event recorded ${Date.now() - restartedAt} ms after the restart`);
    expect(await received()).toBe(EVENTS);
    await expectNothingStuck(stack.db, 10_000);
  });

  it('SIGTERM while PostgreSQL hangs: the service exits within SHUTDOWN_TIMEOUT_MS', async () => {
    proxy.hang();
    // New events arrive, and their handling waits on the hung database.
    const eventId = await stack.db.createEvent(20);
    await Promise.all(Array.from({ length: 20 }, (_, i) => stack.reserve({ event_id: eventId, user_id: `late-${i}` })));
    await stack.outboxDrained();
    await sleep(500);
    const exitMs = await exit(child!, 'SIGTERM');
    proxy.resume();
    console.info(`notification service, SIGTERM with PostgreSQL hung: exited after ${exitMs} ms`);
    expect(exitMs).toBeLessThan(Number(LIMITS.SHUTDOWN_TIMEOUT_MS) + 1_000);
  });
});
