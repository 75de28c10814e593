// The waiting room benchmark's clients and report (load-testing/waiting-room.mjs): plain HTTP requests
// with a deadline, live streams held open, the warm-up's buyers, and the text of the results.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { limited } from '@booking/testing';

/** No request of the run may take longer: a stuck one fails the run rather than hanging it. */
const REQUEST_DEADLINE_MS = 30_000;
/** Tries of a request answered 503 (retry later), at most. */
export const MAX_ATTEMPTS = 30;

export function report(result) {
  const { joins, sale, memory } = result;
  const line = (label, value) => `  ${label.padEnd(44)} ${value}\n`;
  return (
    `Waiting room on-sale: ${result.clients} clients, ${result.seats} seats, ${result.admissionsPerSecond} admissions/s` +
    `${result.p99TargetMs ? ` (adaptive, p99 target ${result.p99TargetMs} ms)` : ''}, ${result.gateways} gateways\n` +
    line('joins per second', `${joins.perSecond} (p99 ${joins.latencyMs.p99} ms)`) +
    line('gateway CPU per join', `${joins.gatewayCpuMsPerJoin} ms`) +
    line('opening to sold out', `${sale.openingToSoldOutMs} ms`) +
    line('sold out to queue closed', `${sale.soldOutToQueueClosedMs} ms`) +
    line(
      'reservations (booking path) p50 / p95 / p99',
      `${sale.reserveLatencyMs.p50} / ${sale.reserveLatencyMs.p95} / ${sale.reserveLatencyMs.p99} ms`,
    ) +
    line(
      '  p50 / p99 at the gateways',
      `${sale.reserveLatencyAtGatewaysMs.p50} / ${sale.reserveLatencyAtGatewaysMs.p99} ms`,
    ) +
    line('admission answers p50 / p99', `${sale.admissionLatencyMs.p50} / ${sale.admissionLatencyMs.p99} ms`) +
    line(
      '  p50 / p99 at the gateways',
      `${sale.admissionLatencyAtGatewaysMs.p50} / ${sale.admissionLatencyAtGatewaysMs.p99} ms`,
    ) +
    line(
      'pace (admissions/s) from the opening',
      sale.paceChanges.map(({ atS, rate }) => `${rate} (${atS} s)`).join(', '),
    ) +
    line('admission tokens given', sale.admissions) +
    line(
      'CPU per booking in the sale (µs)',
      sale.cpuUsPerBooking.map((row) => `${row.process} ${row.cpuUs}`).join(', '),
    ) +
    line('event page read beside it p50 / p99', `${sale.eventReadLatencyMs.p50} / ${sale.eventReadLatencyMs.p99} ms`) +
    line('reservation statuses', JSON.stringify(sale.reservations)) +
    line('requests retried after a 503', JSON.stringify(result.retriedAfter503)) +
    line('Redis per waiting client', `${memory.redisBytesPerWaitingClient} bytes`) +
    line('gateways grew by, all joins (no per-client state)', `${memory.gatewayRssGrowthMbAfterJoins} MiB`) +
    line('gateway per open live stream', `${memory.gatewayKbPerOpenStream} KiB`) +
    line('gateway CPU per live stream and tick', `${memory.gatewayCpuUsPerStreamMessage} µs`) +
    result.checks
      .map((check) => line(check.check, `${check.passed ? 'ok' : 'FAILED'} (${JSON.stringify(check.value)})`))
      .join('')
  );
}

// Plain node:http with kept-alive connections: fetch costs this process several times the CPU per request,
// which on a machine shared with the system under test would be taken from it.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1_024 });

export function request(base, method, path, headers = {}, body) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const sent = http.request(
      base + path,
      {
        method,
        agent,
        headers: {
          ...headers,
          ...(payload !== undefined && {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
          }),
        },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('error', fail);
        response.on('end', () => {
          clearTimeout(deadline);
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: response.statusCode, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    const deadline = setTimeout(
      () => sent.destroy(new Error(`no answer in ${REQUEST_DEADLINE_MS} ms: ${method} ${path}`)),
      REQUEST_DEADLINE_MS,
    );
    sent.on('error', fail);
    sent.end(payload);
    function fail(error) {
      clearTimeout(deadline);
      reject(error);
    }
  });
}

/**
 * `bookings` unreported bookings through a room on a new event (`pool`: the run's database), as `pnpm bench`
 * warms up before it measures: the sale then meets JIT-compiled code and open pools, as in a system that
 * has been serving.
 */
export async function warmUp({ pool, urls, admin, bookings }) {
  const { rows } = await pool.query(`INSERT INTO events (name, total_seats) VALUES ('Warm-up', $1) RETURNING id`, [
    bookings,
  ]);
  const eventId = rows[0].id;
  await request(urls[0], 'PUT', `/api/events/${eventId}/waiting-room`, admin, { admissions_per_second: 1_000 });
  const buyer = limited(64, async (n) => {
    const gateway = urls[n % urls.length];
    const user = `warm-up-${n}`;
    const joined = await request(gateway, 'POST', `/api/events/${eventId}/queue`, {}, { user_id: user });
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const status = await request(
        gateway,
        'POST',
        `/api/events/${eventId}/queue/admission`,
        {},
        {
          ticket: joined.body.ticket,
        },
      );
      if (status.body.state === 'admitted') {
        const headers = { 'admission-token': status.body.admission_token };
        return request(gateway, 'POST', '/api/bookings/reserve', headers, { event_id: eventId, user_id: user });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  await Promise.all(Array.from({ length: bookings }, (_, n) => buyer(n)));
}

/** A live stream held open (its messages read and dropped); `abort` closes it. */
export async function openStream(base, eventId, ticket) {
  const controller = new AbortController();
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${base}/api/events/${eventId}/queue/stream?ticket=${encodeURIComponent(ticket)}`, {
      signal: controller.signal,
    });
    if (response.status === 200) {
      void response.body.pipeTo(new WritableStream()).catch(() => undefined);
      return controller;
    }
    await response.body?.cancel();
    // 503: try again after Retry-After, as the web page does.
    if (response.status !== 503 || attempt === MAX_ATTEMPTS) throw new Error(`stream: ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/**
 * Sleeps for many clients at once: `until(at)` resolves at `at` (epoch ms), or when `wakeAll()` is called
 * (the sale is over), so that the run ends with the sale rather than with its last client's timer.
 */
export class Sleepers {
  #asleep = new Set();
  #over = false;

  until(at) {
    return new Promise((resolve) => {
      if (this.#over) return resolve();
      const sleeper = { resolve, timer: setTimeout(() => this.#wake(sleeper), Math.max(0, at - Date.now())) };
      this.#asleep.add(sleeper);
    });
  }

  wakeAll() {
    this.#over = true;
    for (const sleeper of this.#asleep) this.#wake(sleeper);
  }

  #wake(sleeper) {
    clearTimeout(sleeper.timer);
    this.#asleep.delete(sleeper);
    sleeper.resolve();
  }
}

/** A gateway's Prometheus text. */
export async function metricsText(base) {
  return (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) })).text();
}

/**
 * p50 and p99 in ms of a histogram's observations between two readings of every gateway's metrics, over
 * the series whose labels include `labels`: the upper bound of the bucket each falls in.
 */
export function histogramQuantiles(before, after, name, labels) {
  const buckets = new Map();
  const add = (texts, sign) => {
    for (const text of texts) {
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}_bucket{`)) continue;
        const labelText = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
        const series = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
        if (!Object.entries(labels).every(([key, value]) => series[key] === value)) continue;
        const le = series.le === '+Inf' ? Infinity : Number(series.le);
        buckets.set(le, (buckets.get(le) ?? 0) + sign * Number(line.slice(line.lastIndexOf(' ') + 1)));
      }
    }
  };
  add(after, 1);
  add(before, -1);
  const cumulative = [...buckets].sort(([a], [b]) => a - b);
  const total = cumulative.at(-1)?.[1] ?? 0;
  const quantile = (q) => {
    const bucket = cumulative.find(([, count]) => count >= q * total);
    return bucket && Number.isFinite(bucket[0]) ? `≤ ${Math.round(bucket[0] * 1000)}` : 'over the last bucket';
  };
  return total === 0 ? { count: 0 } : { count: total, p50: quantile(0.5), p99: quantile(0.99) };
}

export function rssKb(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

export function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

export function round(value) {
  return Math.round(value * 100) / 100;
}
