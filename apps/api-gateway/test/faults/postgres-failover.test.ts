import { setTimeout as sleep } from 'node:timers/promises';
import { PostgresWithStandby, TcpProxy, TestDatabase, waitUntil } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../support/stack.js';
import { errorWindow, expectNothingStuck, expectTruthfulOutcomes, ReservationLoad } from './fault-load.js';

/** The database faults' limits (see database-faults.test.ts). */
const LIMITS = { DATABASE_STATEMENT_TIMEOUT_MS: '1000', DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '3000' };
/** Seats left when the primary is lost: the event sells out after the promotion. */
const SEATS_LEFT = 300;
/** How long the services' address leads to the standby before its promotion (a Service switched early). */
const BEFORE_PROMOTION_MS = 1_000;
/** Bounds for a shared, noisy machine: booking again after the kill, and errors after the promotion. */
const RECOVERY_BOUND_MS = 20_000;
const ERRORS_AFTER_PROMOTION_BOUND_MS = 10_000;

/**
 * The ha overlay's PostgreSQL in processes: a primary and a synchronous standby, reached through a
 * TCP proxy standing in for the read-write Service, under two booking services, the notification
 * service and two gateways with a steady load of reservations. The primary's processes are killed
 * (SIGKILL), the proxy is repointed at the standby and the standby promoted. Every acknowledged
 * booking must be in the promoted database, no seat sold twice (the event sells out across the
 * failover), errors only between the kill and shortly after the promotion, and the outbox, the
 * stream and the notifications consistent afterwards.
 */
describe('PostgreSQL: the primary lost under load, its synchronous standby promoted', () => {
  let postgres: PostgresWithStandby;
  let proxy: TcpProxy;
  let stack: Stack;
  const gatewayUrls: string[] = [];

  beforeAll(async () => {
    postgres = await PostgresWithStandby.start();
    proxy = await TcpProxy.start(postgres.primary.port);
    // Migrated through the address the services use, as the migration Job does.
    const db = await TestDatabase.create(proxy.urlFor(postgres.primary.url));
    stack = await Stack.start({ db, inProcessReplicas: 0, processReplicas: 2, serviceEnv: LIMITS });
    await stack.startNotificationProcess();
    gatewayUrls.push(stack.baseUrl, await stack.startExtraGateway());
  }, 120_000);

  afterAll(async () => {
    try {
      await stack?.stop();
    } finally {
      await proxy?.stop();
      await postgres?.dispose();
    }
  });

  it('no acknowledged booking lost, no seat sold twice, booking again once the standby is promoted', async () => {
    const eventId = await stack.db.createEvent(1_000_000, 'failover');
    let turn = 0;
    const load = new ReservationLoad(() => gatewayUrls[turn++ % gatewayUrls.length]!, eventId, 'failover');
    await load.booked(40, 0, 20_000, 'bookings before the primary is lost');
    // A booking acknowledged but missing from the standby would free its seat for another client.
    await stack.db.query('UPDATE events SET total_seats = booked_seats + $2 WHERE id = $1', [eventId, SEATS_LEFT]);

    const killedAt = Date.now();
    await postgres.primary.kill();
    // The address leads to the standby before it is promoted: it refuses every write.
    proxy.repoint(postgres.standby.port);
    await sleep(BEFORE_PROMOTION_MS);
    const promoting = Date.now();
    await postgres.promoteStandby();
    const promotedAt = Date.now();
    await load.booked(40, promotedAt, 30_000, 'bookings after the promotion');
    await waitUntil(async () => load.count(409) > 0, 30_000, 'the event sold out');
    const answers = await load.stop();

    const failed = answers.filter((answer) => answer.status >= 500 || answer.status === 0);
    const window = errorWindow(failed, killedAt);
    const recoveryMs = load.recoveredAfter(killedAt);
    console.info(
      `PostgreSQL primary killed: ${JSON.stringify(load.statuses())}; promotion took ${promotedAt - promoting} ms; ` +
        `first booking ${recoveryMs} ms after the kill, ${recoveryMs - (promotedAt - killedAt)} ms after the promotion; ` +
        `5xx window ${window.durationMs} ms (from ${window.startMs} ms after the kill)`,
    );

    // The services' address now leads to the promoted standby.
    const server = await stack.db.query('SELECT inet_server_port() AS port, pg_is_in_recovery() AS in_recovery');
    expect(server.rows[0]).toEqual({ port: postgres.standby.port, in_recovery: false });
    await expectTruthfulOutcomes(stack, eventId, answers, { soldOut: true });
    const doubled = await stack.db.query(
      'SELECT user_id FROM bookings WHERE event_id = $1 GROUP BY user_id HAVING count(*) > 1',
      [eventId],
    );
    expect(doubled.rows).toEqual([]);

    // Errors only from the kill to shortly after the promotion; the loss was seen, and answered as "not done".
    expect(failed.filter((answer) => answer.answeredAt < killedAt)).toEqual([]);
    expect(failed.filter((answer) => answer.answeredAt > promotedAt + ERRORS_AFTER_PROMOTION_BOUND_MS)).toEqual([]);
    expect(load.count(503, killedAt)).toBeGreaterThan(0);
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);

    // The notification service recorded and delivered every booking of the event once, in the promoted database.
    const delivered = async () =>
      (
        await stack.db.query<{ events: number; delivered: number }>(
          // The outbox row with the event's id says which concert it booked (the envelope is kept only for a webhook).
          `SELECT count(DISTINCT r.event_id)::int AS events, count(*) FILTER (WHERE d.status = 'delivered')::int AS delivered
             FROM notifications.received_events r JOIN notifications.deliveries d USING (event_id)
             JOIN outbox o ON o.id = r.event_id
            WHERE r.type = 'booking.created' AND o.event_id = $1`,
          [eventId],
        )
      ).rows[0]!;
    const booked = await stack.db.count('bookings', 'event_id = $1', [eventId]);
    await waitUntil(
      async () => {
        const { events, delivered: done } = await delivered();
        return events === booked && done === booked;
      },
      30_000,
      'every booking notified',
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${booked} booked, ${JSON.stringify(await delivered())}`);
    });
    await expectNothingStuck(stack.db, 10_000);
  });
});
