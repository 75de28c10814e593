// The latency chart: p50, p95 and p99 of each scenario that ran, as grouped
// bars. A few lines of SVG written directly: charting libraries need a DOM or a
// canvas binding, which is more than a dozen bars are worth.

import { wrap } from './format.mjs';

const SERIES = [
  ['p50', '#1b9e77'],
  ['p95', '#d95f02'],
  ['p99', '#7570b3'],
];

/**
 * Tick values from 0 to at least `max` on round numbers: the step is 1, 2 or 5 × 10^k, the smallest such
 * that at most `maxIntervals` steps reach `max` (113 → 0, 20, …, 120).
 */
export function niceTicks(max, maxIntervals = 6) {
  if (!(max > 0)) return [0, 1];
  const raw = max / maxIntervals;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((multiple) => multiple * power).find((candidate) => candidate >= raw * (1 - 1e-9));
  const intervals = Math.ceil(max / step - 1e-9);
  // toPrecision drops binary noise (0.30000000000000004 → 0.3).
  return Array.from({ length: intervals + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/** `bars`: `[{ label, latencyMs: { p50, p95, p99 } }]`. */
export function latencyChartSvg(title, bars) {
  const group = 96;
  const margin = { left: 60, right: 24, top: 64, bottom: 76 };
  const width = Math.max(640, margin.left + bars.length * group + margin.right);
  const height = 380;
  const ticks = niceTicks(Math.max(...bars.flatMap(({ latencyMs: l }) => [l.p50, l.p95, l.p99])));
  const top = ticks[ticks.length - 1];
  const plotHeight = height - margin.top - margin.bottom;
  const y = (ms) => height - margin.bottom - (ms / top) * plotHeight;
  const slot = (width - margin.left - margin.right) / bars.length;
  const barWidth = Math.min(22, (slot - 12) / SERIES.length);
  const groupLeft = (i) => margin.left + slot * i + (slot - barWidth * SERIES.length) / 2;
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    ...SERIES.map(
      ([key, color], i) =>
        `<rect x="${margin.left + 70 * i}" y="36" width="12" height="12" fill="${color}"/>` +
        `<text x="${margin.left + 70 * i + 16}" y="46">${key}</text>`,
    ),
    ...ticks.map(
      (tick) =>
        `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/>` +
        `<text x="${margin.left - 8}" y="${y(tick) + 4}" text-anchor="end">${tick}</text>`,
    ),
    `<text x="16" y="${margin.top + plotHeight / 2}" transform="rotate(-90 16 ${margin.top + plotHeight / 2})" text-anchor="middle">latency (ms)</text>`,
    ...bars.map((bar, i) => {
      const rects = SERIES.map(([key, color], s) => {
        const value = bar.latencyMs[key];
        const x = groupLeft(i) + s * barWidth;
        return `<rect x="${x}" y="${y(value)}" width="${barWidth - 2}" height="${y(0) - y(value)}" fill="${color}"><title>${escapeXml(bar.label)} ${key}: ${value} ms</title></rect>`;
      });
      const centre = margin.left + slot * (i + 0.5);
      const label = wrap(bar.label, 14)
        .map((line, l) => `<tspan x="${centre}" dy="${l === 0 ? 0 : 14}">${escapeXml(line)}</tspan>`)
        .join('');
      return `${rects.join('')}<text y="${height - margin.bottom + 18}" text-anchor="middle">${label}</text>`;
    }),
    '</svg>',
  ];
  return `${lines.join('\n')}\n`;
}

const escapeXml = (text) =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);
