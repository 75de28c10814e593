import { fileURLToPath } from 'node:url';
import { PrivatePrometheus, type PromSample } from '@booking/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Stack } from '../support/stack.js';

const ALERT_RULES = fileURLToPath(
  new URL('../../../../infrastructure/monitoring/prometheus/alerts.yml', import.meta.url),
);

const hostPort = (url: string) => new URL(url).host;

/** Re-runs the query until `accept` holds for its result (Prometheus scrapes every second). */
async function queryUntil(
  prometheus: PrivatePrometheus,
  promql: string,
  accept: (result: PromSample[]) => boolean,
  timeoutMs = 20_000,
): Promise<PromSample[]> {
  const deadline = Date.now() + timeoutMs;
  let result: PromSample[] = [];
  while (Date.now() < deadline) {
    result = await prometheus.query(promql);
    if (accept(result)) return result;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return result;
}

const byLabel = (result: PromSample[], label: string): Record<string, number> =>
  Object.fromEntries(result.map((sample) => [sample.metric[label], Number(sample.value[1])]));

describe('Prometheus scraping the running services', () => {
  let stack: Stack;
  let prometheus: PrivatePrometheus;

  beforeAll(async () => {
    stack = await Stack.start({ inProcessReplicas: 1, processReplicas: 1 });
    prometheus = await PrivatePrometheus.start(
      [
        { job: 'api-gateway', targets: [hostPort(stack.baseUrl)] },
        { job: 'booking-service', targets: stack.replicaUrls.map(hostPort) },
      ],
      [ALERT_RULES],
    );
  });
  afterAll(async () => {
    await prometheus?.stop();
    await stack?.stop();
  });

  it('counts reservation outcomes across replicas: a PromQL query returns the right numbers', async () => {
    const small = await stack.db.createEvent(2);
    const large = await stack.db.createEvent(10);
    const statuses: number[] = [];
    const reserve = async (event_id: number, user_id: string) =>
      statuses.push((await stack.reserve({ event_id, user_id })).status);
    await reserve(small, 'a'); // created
    await reserve(small, 'b'); // created
    await reserve(small, 'c'); // sold out
    await reserve(small, 'a'); // duplicate
    for (const user of ['a', 'b', 'c']) await reserve(large, user); // 3 created
    await reserve(large, 'c'); // duplicate
    await reserve(987_654, 'a'); // event not found
    expect(statuses).toEqual([201, 201, 409, 409, 201, 201, 201, 409, 404]);

    const expected = { created: 5, duplicate: 2, sold_out: 1, not_found: 1 };
    const result = await queryUntil(
      prometheus,
      'sum by (outcome) (booking_reservations_total)',
      (samples) => JSON.stringify(sortKeys(byLabel(samples, 'outcome'))) === JSON.stringify(sortKeys(expected)),
    );
    expect(byLabel(result, 'outcome')).toEqual(expected);
    // Both replicas took part, and each reported its own share.
    const perInstance = await prometheus.query('sum by (instance) (booking_reservations_total)');
    expect(perInstance.reduce((sum, sample) => sum + Number(sample.value[1]), 0)).toBe(9);
  });

  it('labels HTTP requests by route template and status, collapsing unknown paths', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const id of [99_991, 99_992, 99_993]) await stack.request('GET', `/api/bookings/${id}`, undefined, admin);
    await stack.request('GET', '/no/such/path/12345');
    await stack.request('GET', '/api/bookings/not-a-number');
    const result = await queryUntil(
      prometheus,
      'sum by (route, status_code) (http_request_duration_seconds_count{job="api-gateway", route=~"/api/bookings/:id|unmatched"})',
      (samples) => samples.length >= 3,
    );
    const series = Object.fromEntries(
      result.map((sample) => [`${sample.metric.route} ${sample.metric.status_code}`, Number(sample.value[1])]),
    );
    expect(series).toEqual({ '/api/bookings/:id 404': 3, '/api/bookings/:id 400': 1, 'unmatched 404': 1 });
    const routes = await prometheus.query('count by (route) (http_request_duration_seconds_count)');
    for (const sample of routes) expect(sample.metric.route).not.toMatch(/\d/);
  });

  it('measures the NATS round trip, query latency, the pool and the process', async () => {
    await queryUntil(prometheus, 'nats_request_duration_seconds_count{subject="booking.reserve"}', (s) => s.length > 0);
    const checks: [string, (samples: PromSample[]) => boolean][] = [
      ['sum(nats_request_duration_seconds_count{subject="booking.reserve", outcome="ok"})', (s) => value(s) === 5],
      [
        'sum(nats_request_duration_seconds_count{subject="booking.reserve", outcome="rejected"})',
        (s) => value(s) === 4,
      ],
      ['sum(nats_handler_duration_seconds_count{subject="booking.reserve"})', (s) => value(s) === 9],
      ['sum(db_query_duration_seconds_count{operation="with", outcome="ok"})', (s) => value(s) === 9],
      ['count(db_pool_connections{state="total"})', (s) => value(s) === 2],
      ['sum(db_pool_max_connections)', (s) => value(s) === 10],
      ['count(nodejs_eventloop_lag_p99_seconds)', (s) => value(s) === 3],
      ['count(up == 1)', (s) => value(s) === 3],
    ];
    for (const [promql, accept] of checks) {
      const result = await queryUntil(prometheus, promql, accept);
      expect(accept(result), `${promql} = ${JSON.stringify(result)}`).toBe(true);
    }
  });

  it('loads and evaluates the committed alert rules', async () => {
    const groups = await queryUntilRules(prometheus);
    const rules = groups.flatMap((group) => group.rules);
    expect(rules.map((rule) => rule.name)).toContain('ServiceDown');
    expect(rules.filter((rule) => rule.health !== 'ok')).toEqual([]);
  });
});

function value(samples: PromSample[]): number {
  return samples.length === 1 ? Number(samples[0]!.value[1]) : NaN;
}

function sortKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

async function queryUntilRules(prometheus: PrivatePrometheus) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const groups = await prometheus.rules();
    const rules = groups.flatMap((group) => group.rules);
    if ((rules.length > 0 && rules.every((rule) => rule.health !== 'unknown')) || Date.now() > deadline) return groups;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
