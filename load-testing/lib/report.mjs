// Console table, JSON and an SVG chart of the results. The chart is a few
// lines of SVG written directly: charting libraries need a DOM or a canvas
// binding, which is more than three polylines are worth.

export function printTable(rows) {
  const headers = ['scenario', 'conns', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'statuses', 'check'];
  const lines = rows.map((r) => [
    r.scenario,
    String(r.connections ?? ''),
    String(r.requestsPerSecond ?? r.transactionsPerSecond ?? ''),
    fmt(r.latencyMs?.p50 ?? r.latencyAverageMs),
    fmt(r.latencyMs?.p95),
    fmt(r.latencyMs?.p99),
    r.statuses
      ? Object.entries(r.statuses)
          .map(([code, n]) => `${code}×${n}`)
          .join(' ')
      : '',
    r.check ? (r.check.ok ? 'ok' : 'FAILED') : '',
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [row(headers), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}

/**
 * A flash sale's two kinds of answer, which the table's percentiles mix: the
 * bookings, all made while the crowd arrives, and the refusals after.
 */
export function flashSaleSummary(row) {
  const booked = row.byStatus?.['201'];
  const refused = row.byStatus?.['409'];
  if (!booked) return 'Flash sale: no seat was booked.';
  const latencies = ({ latencyMs: l }) => `p50 ${l.p50}, p95 ${l.p95}, p99 ${l.p99} ms`;
  return [
    `Flash sale (the median run): ${row.statuses['201']} seats sold within ${booked.lastAtMs} ms of the start.`,
    `  bookings (201): ${latencies(booked)}`,
    refused ? `  refusals (409): ${latencies(refused)}` : '  no refusals',
    `  every answer after the first second (the connections opening): ${latencies({ latencyMs: row.latencyAfterFirstSecondMs })}`,
  ].join('\n');
}

const fmt = (value) => (value === undefined || Number.isNaN(value) ? '' : String(value));

export function latencyChartSvg(title, points) {
  const width = 640;
  const height = 360;
  const margin = { left: 60, right: 120, top: 40, bottom: 50 };
  const xs = points.map((p) => p.connections);
  const maxY = Math.max(1, ...points.flatMap((p) => [p.latencyMs.p50, p.latencyMs.p95, p.latencyMs.p99])) * 1.1;
  const x = (c) => margin.left + ((xs.indexOf(c) + 0.5) / xs.length) * (width - margin.left - margin.right);
  const y = (ms) => height - margin.bottom - (ms / maxY) * (height - margin.top - margin.bottom);
  const series = [
    ['p50', '#1b9e77'],
    ['p95', '#d95f02'],
    ['p99', '#7570b3'],
  ];
  const ticks = Array.from({ length: 5 }, (_, i) => (maxY / 4) * i);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>
${ticks.map((t) => `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${margin.left - 8}" y="${y(t) + 4}" text-anchor="end">${t.toFixed(0)}</text>`).join('\n')}
<text x="16" y="${height / 2}" transform="rotate(-90 16 ${height / 2})" text-anchor="middle">latency (ms)</text>
${xs.map((c) => `<text x="${x(c)}" y="${height - margin.bottom + 18}" text-anchor="middle">${c}</text>`).join('\n')}
<text x="${(margin.left + width - margin.right) / 2}" y="${height - 12}" text-anchor="middle">concurrent connections</text>
${series
  .map(
    ([key, color], i) =>
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${x(p.connections)},${y(p.latencyMs[key])}`).join(' ')}"/>` +
      points
        .map((p) => `<circle cx="${x(p.connections)}" cy="${y(p.latencyMs[key])}" r="3" fill="${color}"/>`)
        .join('') +
      `<text x="${width - margin.right + 12}" y="${margin.top + 18 * i}" fill="${color}">${key}</text>`,
  )
  .join('\n')}
</svg>
`;
}

const escapeXml = (text) =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);
