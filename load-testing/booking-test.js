/* global __ENV */
// k6 load test of `pnpm bench`'s booking scenarios against any deployment:
//   k6 run -e BASE_URL=http://localhost:3000 load-testing/booking-test.js        (seed baseline)
//   k6 run -e BASE_URL=… -e SCENARIO=sustained_sale load-testing/booking-test.js (every answer a booking)
//   k6 run -e BASE_URL=… -e SCENARIO=sell_out load-testing/booking-test.js       (1,000 seats, then refusals)
//   SCENARIO=all runs the three one after the other.
// The seed reported 282.6 req/s, avg 194.77 ms, p95 605.36 ms at 200 VUs; its goal was p95 < 100 ms.
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';
import exec from 'k6/execution';

const BASE_URL = __ENV.BASE_URL || 'http://localhost:3000';
const ADMIN_TOKEN = __ENV.ADMIN_TOKEN || '';
const EVENTS = Number(__ENV.EVENTS || 100);
const SELL_OUT_SEATS = Number(__ENV.SELL_OUT_SEATS || 1000);

const created = new Counter('bookings_created');
const rejected = new Counter('bookings_rejected');
const unexpected = new Rate('unexpected_responses');

// The seed's load: 100 events, ramping to 50, 100 and 200 virtual users.
const seedBaselineLoad = {
  executor: 'ramping-vus',
  exec: 'seedBaseline',
  startVUs: 0,
  stages: [
    { duration: '30s', target: 50 },
    { duration: '1m', target: 50 },
    { duration: '30s', target: 100 },
    { duration: '1m', target: 100 },
    { duration: '30s', target: 200 },
    { duration: '1m', target: 200 },
    { duration: '30s', target: 0 },
  ],
};

const sustainedSaleLoad = { executor: 'constant-vus', exec: 'sustainedSale', vus: 200, duration: '30s' };
const sellOutLoad = { executor: 'constant-vus', exec: 'sellOut', vus: 200, duration: '30s' };

const SCENARIOS = {
  seed_baseline: { seed_baseline: seedBaselineLoad },
  sustained_sale: { sustained_sale: sustainedSaleLoad },
  sell_out: { sell_out: sellOutLoad },
  all: {
    seed_baseline: seedBaselineLoad,
    sustained_sale: { ...sustainedSaleLoad, startTime: '5m' },
    sell_out: { ...sellOutLoad, startTime: '5m30s' },
  },
};
const selected = __ENV.SCENARIO || 'seed_baseline';
if (!SCENARIOS[selected]) throw new Error(`SCENARIO must be one of ${Object.keys(SCENARIOS).join(', ')}`);

export const options = {
  scenarios: SCENARIOS[selected],
  thresholds: {
    http_req_duration: ['p(95)<100'],
    unexpected_responses: ['rate<0.01'],
  },
};

function createEvent(name, seats) {
  const headers = { 'content-type': 'application/json' };
  if (ADMIN_TOKEN) headers.authorization = `Bearer ${ADMIN_TOKEN}`;
  const response = http.post(`${BASE_URL}/api/events`, JSON.stringify({ name, total_seats: seats }), { headers });
  if (response.status !== 201) throw new Error(`creating an event failed: ${response.status} ${response.body}`);
  return response.json('id');
}

export function setup() {
  const events = [];
  for (let i = 0; i < EVENTS; i++) events.push(createEvent(`k6 event ${i}`, 1_000_000));
  return {
    events,
    sustainedEvent: createEvent('k6 sustained sale', 10_000_000),
    sellOutEvent: createEvent('k6 sell-out', SELL_OUT_SEATS),
  };
}

function book(eventId) {
  const userId = `k6-${exec.scenario.name}-${exec.vu.idInTest}-${exec.scenario.iterationInTest}`;
  const response = http.post(
    `${BASE_URL}/api/bookings/reserve`,
    JSON.stringify({ event_id: eventId, user_id: userId }),
    {
      headers: { 'content-type': 'application/json' },
    },
  );
  if (response.status === 201) created.add(1);
  else if (response.status === 409) rejected.add(1);
  unexpected.add(response.status !== 201 && response.status !== 409);
  check(response, { 'answered 201 or 409': (r) => r.status === 201 || r.status === 409 });
}

export function seedBaseline(data) {
  book(data.events[Math.floor(Math.random() * data.events.length)]);
}

export function sustainedSale(data) {
  book(data.sustainedEvent);
}

export function sellOut(data) {
  book(data.sellOutEvent);
}
