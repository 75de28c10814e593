import { limited } from '@booking/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, countBy, countStatuses, httpRequest, Stack, type ApiResponse } from '../support/stack.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** Clients in each wave: drawn early, then two waves in arrival order after the opening. */
const WAVE = 700;
const SEATS = 600;
const RATE = 200;
const ADMISSION_TTL_S = 60;
/** Requests in flight at once: the gateways run in this process, whose one thread the clients share. */
const IN_FLIGHT = 200;
const REQUEST_DEADLINE_MS = 30_000;
/** The most admitted beyond the seats: bookings within one live-feed window of the other gateway. */
const ADMITTED_OVER_SEATS = 30;

interface Client {
  user: string;
  wave: number;
  gateway: string;
  ticket: string;
  position: number;
  final?: ApiResponse;
}

/**
 * Thousands of clients through two gateways: every place is given once, later arrivals queue behind
 * earlier ones, nobody is admitted before the pace reaches their place, every token books at most once,
 * and the seats are never exceeded.
 */
describe('waiting room under a crowd, through two gateways', () => {
  let stack: Stack;
  let gateways: string[];
  let redis: Redis;

  beforeAll(async () => {
    // The gateways share this process with thousands of clients: a Redis reply may wait in its event loop
    // longer than the production timeout, which would mark Redis down (and answer 503) for no fault of Redis.
    const env = { WAITING_ROOM_ADMISSION_TTL_S: String(ADMISSION_TTL_S), REDIS_COMMAND_TIMEOUT_MS: '10000' };
    stack = await Stack.start({ gatewayEnv: env });
    gateways = [stack.baseUrl, await stack.startExtraGateway(env)];
    redis = new Redis(stack.redis.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  it(
    `${3 * WAVE} clients: places in arrival order, admission at the pace, no token twice, no overselling`,
    { timeout: 120_000 },
    async () => {
      const eventId = await stack.db.createEvent(SEATS);
      const later = new Date(Date.now() + 3_600_000).toISOString();
      await stack.request('PATCH', `/api/events/${eventId}`, { sales_open_at: later }, admin);
      await stack.request(
        'PUT',
        `/api/events/${eventId}/waiting-room`,
        { admissions_per_second: RATE, join_opens_before_s: 7_200 },
        admin,
      );

      const send = limited(IN_FLIGHT, withDeadline(httpRequest));
      const reservations: ApiResponse[] = [];
      /** A client: joins through one gateway, follows its place through the other, books when admitted. */
      const join = async (user: string, wave: number, i: number): Promise<Client> => {
        const gateway = gateways[i % 2]!;
        const joined = await send(`${gateway}/api/events/${eventId}/queue`, 'POST', { user_id: user });
        expect(joined.status).toBe(200);
        return { user, wave, gateway, ticket: joined.body.ticket, position: joined.body.position };
      };
      const follow = async (client: Client, i: number): Promise<void> => {
        const other = gateways[(i + 1) % 2]!;
        for (;;) {
          const status = await send(`${other}/api/events/${eventId}/queue/admission`, 'POST', {
            ticket: client.ticket,
          });
          expect(status.status).toBe(200);
          if (!['waiting', 'early', 'seats_held'].includes(status.body.state)) {
            client.final = status;
            // An early arrival's place was drawn and could move until the opening; it is final now.
            client.position = status.body.position;
            break;
          }
          // When the pace should reach the place (as a real client would learn from the stream); a turn that
          // came while every seat left was held is asked again soon.
          const waitMs = status.body.state === 'early' ? 1_000 : (status.body.ahead * 1000) / RATE;
          await new Promise((resolve) => setTimeout(resolve, Math.max(20, waitMs)));
        }
        if (client.final.body.state !== 'admitted') return;
        // The token is spent on both gateways at once (a copy of it): one booking at most.
        const token = { 'admission-token': client.final.body.admission_token as string };
        const body = { event_id: eventId, user_id: client.user };
        reservations.push(
          ...(await Promise.all([
            send(`${other}/api/bookings/reserve`, 'POST', body, token),
            send(`${client.gateway}/api/bookings/reserve`, 'POST', body, token),
          ])),
        );
      };
      const followed: Promise<void>[] = [];
      const wave = async (n: number): Promise<Client[]> => {
        const joined = await Promise.all(Array.from({ length: WAVE }, (_, i) => join(`wave-${n}-${i}`, n, i)));
        followed.push(...joined.map((client, i) => follow(client, i)));
        return joined;
      };

      const early = await wave(0);
      expect(early.every((client) => client.position <= WAVE)).toBe(true);
      // Doors open: the early arrivals' places are final from now on.
      const opensAt = new Date(Date.now() + 300).toISOString();
      await stack.request('PATCH', `/api/events/${eventId}`, { sales_open_at: opensAt }, admin);
      await new Promise((resolve) => setTimeout(resolve, Date.parse(opensAt) - Date.now() + 20));
      // Arrivals after the opening; the second wave arrives once the first has its places.
      const first = await wave(1);
      const second = await wave(2);
      await Promise.all(followed);
      const clients = [...early, ...first, ...second];

      // Every place given once; each wave behind the one before it.
      const positions = clients.map((client) => client.position);
      expect([...positions].sort((a, b) => a - b)).toEqual(Array.from({ length: 3 * WAVE }, (_, i) => i + 1));
      for (const [n, group] of [early, first, second].entries()) {
        for (const client of group) {
          expect(client.position).toBeGreaterThan(n * WAVE);
          expect(client.position).toBeLessThanOrEqual((n + 1) * WAVE);
        }
      }

      // Nobody admitted before the pace reached their place: at admission time t, (t - base) * rate > rank.
      const prefix = `${stack.names.redisKeyPrefix}wr:{${eventId}}:`;
      const baseAt = Number(await redis.hget(`${prefix}conf`, 'base_at'));
      // The opening, or when the room learnt of it if that was later (the PATCH may take a while here).
      expect(baseAt).toBeGreaterThanOrEqual(Date.parse(opensAt));
      const admissions = await redis.hgetall(`${prefix}adm`);
      const byUser = new Map(clients.map((client) => [client.user, client]));
      const jtis = new Set<string>();
      for (const [user, record] of Object.entries(admissions)) {
        const [jti, expiresAt] = record.split('|');
        jtis.add(jti!);
        const admittedAt = Number(expiresAt) - ADMISSION_TTL_S * 1000;
        const rank = byUser.get(user)!.position - 1;
        expect(admittedAt - baseAt).toBeGreaterThanOrEqual(((rank + 1) * 1000) / RATE - 1);
      }
      expect(jtis.size).toBe(Object.keys(admissions).length);

      // Admissions stopped at the seats: those not yet used held them (a few more may be let in on the strength of
      // a gateway's seat count that a booking through the other one has not yet reached).
      expect(Object.keys(admissions).length).toBeGreaterThanOrEqual(SEATS);
      expect(Object.keys(admissions).length).toBeLessThanOrEqual(SEATS + ADMITTED_OVER_SEATS);

      // Each token booked once at most: one of its two attempts was refused as used (or both for want of seats).
      const statuses = countStatuses(reservations);
      expect(statuses[201]).toBe(SEATS);
      expect(Object.keys(statuses).sort()).toEqual(['201', '409']);
      const booked = reservations.filter((reservation) => reservation.status === 201).map((r) => r.body.user_id);
      expect(new Set(booked).size).toBe(SEATS);
      expect(await stack.db.count('bookings', 'event_id = $1', [eventId])).toBe(SEATS);
      const tokenStates = Object.values(await redis.hgetall(`${prefix}tok`));
      expect(tokenStates.filter((state) => state === 'used')).toHaveLength(SEATS);
      for (const user of booked) expect(admissions[user]).toBeDefined();

      // Sold out: the queue closed, and those still waiting were told so rather than admitted.
      const states = countBy(clients.map((client) => client.final!.body.state as string));
      expect(states.closed).toBeGreaterThan(0);
      expect(states.admitted! + states.closed!).toBe(3 * WAVE);
      expect(
        countStatuses([await httpRequest(`${gateways[0]}/api/events/${eventId}/queue`, 'POST', { user_id: 'late' })]),
      ).toEqual({ 409: 1 });
    },
  );
});

/** A request that has not been answered in REQUEST_DEADLINE_MS fails the test rather than hanging it. */
const withDeadline =
  (request: typeof httpRequest): typeof httpRequest =>
  (...args) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer in ${REQUEST_DEADLINE_MS} ms: ${args[1]} ${args[0]}`)),
        REQUEST_DEADLINE_MS,
      );
    });
    return Promise.race([request(...args), late]).finally(() => clearTimeout(timer));
  };
