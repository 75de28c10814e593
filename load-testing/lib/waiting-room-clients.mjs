// The waiting room benchmark's clients and report (load-testing/waiting-room.mjs): plain HTTP requests
// with a deadline, live streams held open, and the text of the results.
import { readFileSync } from 'node:fs';

/** No request of the run may take longer: a stuck one fails the run rather than hanging it. */
const REQUEST_DEADLINE_MS = 30_000;
/** Tries of a request answered 503 (retry later), at most. */
export const MAX_ATTEMPTS = 30;

export function report(result) {
  const { joins, sale, memory } = result;
  const line = (label, value) => `  ${label.padEnd(44)} ${value}\n`;
  return (
    `Waiting room on-sale: ${result.clients} clients, ${result.seats} seats, ${result.admissionsPerSecond} admissions/s, ${result.gateways} gateways\n` +
    line('joins per second', `${joins.perSecond} (p99 ${joins.latencyMs.p99} ms)`) +
    line('gateway CPU per join', `${joins.gatewayCpuMsPerJoin} ms`) +
    line('opening to sold out', `${sale.openingToSoldOutMs} ms`) +
    line('sold out to queue closed', `${sale.soldOutToQueueClosedMs} ms`) +
    line('reservations (booking path) p50 / p99', `${sale.reserveLatencyMs.p50} / ${sale.reserveLatencyMs.p99} ms`) +
    line('admission answers p50 / p99', `${sale.admissionLatencyMs.p50} / ${sale.admissionLatencyMs.p99} ms`) +
    line('event page read beside it p50 / p99', `${sale.eventReadLatencyMs.p50} / ${sale.eventReadLatencyMs.p99} ms`) +
    line('reservation statuses', JSON.stringify(sale.reservations)) +
    line('requests retried after a 503', JSON.stringify(result.retriedAfter503)) +
    line('Redis per waiting client', `${memory.redisBytesPerWaitingClient} bytes`) +
    line('gateways grew by, all joins (no per-client state)', `${memory.gatewayRssGrowthMbAfterJoins} MiB`) +
    line('gateway per open live stream', `${memory.gatewayKbPerOpenStream} KiB`) +
    result.checks
      .map((check) => line(check.check, `${check.passed ? 'ok' : 'FAILED'} (${JSON.stringify(check.value)})`))
      .join('')
  );
}

export async function request(base, method, path, headers = {}, body) {
  const response = await fetch(base + path, {
    method,
    headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
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

export function sleepUntil(at) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
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
