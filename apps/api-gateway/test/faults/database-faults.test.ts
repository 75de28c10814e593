import { setTimeout as sleep } from 'node:timers/promises';
import { TcpProxy, waitUntil } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../support/stack.js';
import { expectNothingStuck, expectTruthfulOutcomes, ReservationLoad } from './fault-load.js';

/** Limits short enough for a test, in the same proportions as the defaults. */
const LIMITS = {
  DATABASE_STATEMENT_TIMEOUT_MS: '1000',
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '3000',
  SHUTDOWN_TIMEOUT_MS: '3000',
};
/** How soon after a fault ends the system must book again. */
const RECOVERY_BOUND_MS = 5_000;

/**
 * PostgreSQL faults under a steady load of reservations, through a TCP proxy
 * between the booking service (a separate process) and the shared server:
 * connections that go silent for good, a server that hangs and then delivers
 * everything late, a server that refuses connections. After each: every client
 * was told the truth (see `expectTruthfulOutcomes`), the system booked again
 * within RECOVERY_BOUND_MS, and nothing was left stuck in PostgreSQL.
 */
describe('PostgreSQL faults under load', () => {
  let stack: Stack;
  let proxy: TcpProxy;
  let replica: ReturnType<Stack['children']['at']>;
  let bookingUrl: string;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 0 });
    proxy = await TcpProxy.start(5432);
    await stack.startProcessReplica({ ...LIMITS, DATABASE_URL: proxy.urlFor(stack.db.url) });
    replica = stack.children.at(-1);
    bookingUrl = stack.replicaUrls.at(-1)!;
  });
  afterAll(async () => {
    proxy?.resume();
    await stack?.stop();
    await proxy?.stop();
  });

  async function underLoad(tag: string, fault: (load: ReservationLoad) => Promise<number>) {
    const eventId = await stack.db.createEvent(1_000_000, tag);
    const load = new ReservationLoad(() => stack.baseUrl, eventId, tag);
    await load.booked(20, 0, 20_000, `bookings before the fault (${tag})`);
    const endedAt = await fault(load);
    await load.booked(20, endedAt, 20_000, `bookings after the fault (${tag})`);
    const answers = await load.stop();
    const recoveryMs = load.recoveredAfter(endedAt);
    console.info(`${tag}: ${JSON.stringify(load.statuses())}, booking again ${recoveryMs} ms after the fault ended`);
    await expectTruthfulOutcomes(stack, eventId, answers);
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
    await expectNothingStuck(stack.db, 10_000);
    return { load, recoveryMs };
  }

  it('connections that go silent for good (new ones work): stuck requests end, the pool replaces them', async () => {
    const { load } = await underLoad('silent', async () => {
      proxy.silenceExisting();
      return Date.now();
    });
    // Nothing waited for ever: every answer came within the gateway's deadline and a little more.
    expect(load.answers.every((answer) => answer.answeredAt - answer.sentAt < 7_000)).toBe(true);
    expect((await fetch(`${bookingUrl}/health/ready`)).status).toBe(200);
  });

  it('a server that hangs for 8 s and then delivers everything late: nothing books after its client was answered', async () => {
    const { load } = await underLoad('hang', async (running) => {
      proxy.hang();
      const hungAt = Date.now();
      // Not ready while its pool cannot run a query.
      await waitUntil(async () => (await fetch(`${bookingUrl}/health/ready`)).status === 503, 10_000, 'not ready');
      await sleep(Math.max(0, 8_000 - (Date.now() - hungAt)));
      expect(running.count(201, hungAt + 3_000)).toBe(0);
      proxy.resume();
      return Date.now();
    });
    // Answered while it hung: "not done" (503) for requests that could not start, "unknown" (504) for those sent.
    expect(load.count(503)).toBeGreaterThan(0);
    await waitUntil(async () => (await fetch(`${bookingUrl}/health/ready`)).status === 200, 10_000, 'ready again');
  });

  it('a server that refuses connections for 5 s: quick 503s, nothing booked by them', async () => {
    const { load } = await underLoad('refused', async () => {
      await proxy.cut();
      await sleep(5_000);
      await proxy.restore();
      return Date.now();
    });
    expect(load.count(503)).toBeGreaterThan(0);
  });

  it('SIGTERM while PostgreSQL hangs: the service exits within SHUTDOWN_TIMEOUT_MS', async () => {
    const eventId = await stack.db.createEvent(1_000, 'sigterm');
    const load = new ReservationLoad(() => stack.baseUrl, eventId, 'sigterm', 4);
    await load.booked(5, 0, 20_000, 'bookings before the hang');
    proxy.hang();
    await sleep(500);
    const signalledAt = Date.now();
    const exited = new Promise<number>((resolve) => replica!.once('exit', () => resolve(Date.now() - signalledAt)));
    replica!.kill('SIGTERM');
    const exitMs = await exited;
    console.info(`SIGTERM with PostgreSQL hung: exited after ${exitMs} ms`);
    expect(exitMs).toBeLessThan(Number(LIMITS.SHUTDOWN_TIMEOUT_MS) + 1_000);
    proxy.resume();
    await load.stop();
  });
});
