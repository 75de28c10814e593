import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../support/stack.js';
import { expectNothingStuck, expectTruthfulOutcomes, ReservationLoad } from './fault-load.js';

/** How soon after a dependency is back (a restarted service ready, nats-server accepting) the system must book. */
const RECOVERY_BOUND_MS = 5_000;

/**
 * Processes dying under a steady load of reservations: booking-service
 * replicas killed with SIGKILL (mid-request, no chance to clean up), and
 * nats-server killed and restarted. After each: every client was told the
 * truth (see `expectTruthfulOutcomes`), the system booked again within
 * RECOVERY_BOUND_MS of the dependency being back, nothing stuck in PostgreSQL.
 */
describe('processes killed under load', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 0, processReplicas: 1 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const child = stack.children.pop()!;
    stack.replicaUrls.pop();
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  };

  it('the only booking-service replica killed three times, restarted each time', async () => {
    const eventId = await stack.db.createEvent(1_000_000, 'killed');
    const load = new ReservationLoad(() => stack.baseUrl, eventId, 'killed');
    const recoveries: { startMs: number; bookingMs: number }[] = [];
    for (let round = 0; round < 3; round++) {
      await load.booked(10 * (round + 1), 0, 20_000, `bookings before kill ${round + 1}`);
      await kill();
      await sleep(500);
      const spawnedAt = Date.now();
      await stack.startProcessReplica();
      const readyAt = Date.now();
      await load.booked(1, readyAt, 20_000, `a booking after restart ${round + 1}`);
      recoveries.push({ startMs: readyAt - spawnedAt, bookingMs: load.recoveredAfter(readyAt) });
    }
    await load.booked(40, 0, 20_000, 'bookings after the last restart');
    const answers = await load.stop();
    console.info(`booking service killed 3×: ${JSON.stringify(load.statuses())}, ${JSON.stringify(recoveries)}`);
    await expectTruthfulOutcomes(stack, eventId, answers);
    for (const { bookingMs } of recoveries) expect(bookingMs).toBeLessThan(RECOVERY_BOUND_MS);
    await expectNothingStuck(stack.db, 15_000);
  });

  it('one of two replicas killed: the other takes the load at once', async () => {
    await stack.startProcessReplica();
    const eventId = await stack.db.createEvent(1_000_000, 'one-of-two');
    const load = new ReservationLoad(() => stack.baseUrl, eventId, 'one-of-two');
    await load.booked(20, 0, 20_000, 'bookings before the kill');
    await kill();
    const killedAt = Date.now();
    // Buyers who arrive after the kill: the running clients may all be waiting out the deadline of
    // reservations the dead replica took with it, and would send nothing new until then.
    const arriving = new ReservationLoad(() => stack.baseUrl, eventId, 'one-of-two-after', 4);
    await arriving.booked(40, killedAt, 20_000, 'bookings after the kill');
    const answers = [...(await load.stop()), ...(await arriving.stop())];
    const recoveryMs = arriving.recoveredAfter(killedAt);
    console.info(
      `one of two replicas killed: ${JSON.stringify(load.statuses())} and ${JSON.stringify(arriving.statuses())} ` +
        `from buyers arriving after it, booking again after ${recoveryMs} ms`,
    );
    await expectTruthfulOutcomes(stack, eventId, answers);
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
    await expectNothingStuck(stack.db, 15_000);
  });

  it('nats-server killed for 3 s and restarted', async () => {
    const eventId = await stack.db.createEvent(1_000_000, 'nats');
    const load = new ReservationLoad(() => stack.baseUrl, eventId, 'nats');
    await load.booked(20, 0, 20_000, 'bookings before the outage');
    await stack.nats.stop();
    await sleep(3_000);
    await stack.nats.resume();
    const backAt = Date.now();
    await load.booked(40, backAt, 30_000, 'bookings after the outage');
    const answers = await load.stop();
    const recoveryMs = load.recoveredAfter(backAt);
    console.info(`nats-server restarted: ${JSON.stringify(load.statuses())}, booking again after ${recoveryMs} ms`);
    await expectTruthfulOutcomes(stack, eventId, answers);
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
    await expectNothingStuck(stack.db, 15_000);
  });
});
