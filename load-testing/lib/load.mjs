// Load generation with autocannon. Each request body gets a user id that no
// other request in the run uses: distinct buyers.
// Latencies are collected per response so that percentiles (p95 included,
// which autocannon's summary lacks) are exact, merge across targets and can be
// split by status (a sell-out's bookings against its refusals).
import autocannon from 'autocannon';

let userCounter = 0;

function runOne(options, responses, startedAt) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
    instance.on('response', (_client, status, _bytes, responseTimeMs) =>
      responses.push(status, responseTimeMs, performance.now() - startedAt),
    );
  });
}

/** Runs `connections` connections for `seconds`, split over one or more gateway base URLs. */
export async function runLoad({ targets, path, method = 'GET', connections, seconds, body }) {
  const perTarget = Math.max(1, Math.floor(connections / targets.length));
  // Flat (status, latency ms, ms since the start) triples: a run collects hundreds of thousands.
  const responses = [];
  const startedAt = performance.now();
  const results = await Promise.all(
    targets.map((target) =>
      runOne(
        {
          url: target + path,
          method,
          connections: perTarget,
          duration: seconds,
          headers: body ? { 'content-type': 'application/json' } : undefined,
          requests: body
            ? [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(body(userCounter++)) }) }]
            : undefined,
        },
        responses,
        startedAt,
      ),
    ),
  );
  const statuses = {};
  for (const result of results) {
    for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
      statuses[code] = (statuses[code] ?? 0) + count;
    }
  }
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  const seconds_ = results[0].duration;
  return {
    connections,
    seconds: seconds_,
    requestsPerSecond: Math.round(answered / seconds_),
    answered,
    socketErrors: results.reduce((n, r) => n + r.errors + r.timeouts, 0),
    statuses,
    latencyMs: percentiles(responses.filter((_, i) => i % 3 === 1)),
    // Without the first second, while the load generator opens its connections all at once: a bare Node
    // server, too, answers a third as fast then, and its first answer takes about 75 ms (docs/performance.md).
    latencyAfterFirstSecondMs: percentiles(responses.filter((_, i) => i % 3 === 1 && responses[i + 1] >= 1000)),
    byStatus: byStatus(responses),
  };
}

/** Per status: latency percentiles, and when the last such answer came (a sell-out's last booking: sold out). */
function byStatus(responses) {
  const groups = {};
  for (let i = 0; i < responses.length; i += 3) {
    const group = (groups[responses[i]] ??= { latencies: [], lastAtMs: 0 });
    group.latencies.push(responses[i + 1]);
    group.lastAtMs = Math.max(group.lastAtMs, responses[i + 2]);
  }
  return Object.fromEntries(
    Object.entries(groups).map(([status, { latencies, lastAtMs }]) => [
      status,
      { latencyMs: percentiles(latencies), lastAtMs: Math.round(lastAtMs) },
    ]),
  );
}

export function percentiles(samples) {
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => (sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]) : 0);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length ? round(sorted[sorted.length - 1]) : 0 };
}

const round = (ms) => Math.round(ms * 100) / 100;
