// Numbers, text and plain-text tables for the console report.

/** 12345.6 → "12,346"; below 10 one decimal ("4.5"), below 1 two ("0.25"); a missing value → "". */
export function formatNumber(value) {
  if (value === undefined || value === null || Number.isNaN(value)) return '';
  const digits = Math.abs(value) >= 10 || Number.isInteger(value) ? 0 : Math.abs(value) >= 1 ? 1 : 2;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/**
 * A table with a header, a rule and aligned columns: `columns` are `{ header, align }` (align "right" for
 * numbers), `rows` arrays of cells (strings, or numbers formatted with formatNumber).
 */
export function formatTable(columns, rows) {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? formatNumber(cell) : (cell ?? ''))));
  const widths = columns.map(({ header }, i) => Math.max(header.length, ...cells.map((row) => row[i].length)));
  const line = (row) =>
    row
      .map((cell, i) => (columns[i].align === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map(({ header }) => header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join(
    '\n',
  );
}

/** Splits `text` into lines of at most about `width` characters, at spaces. */
export function wrap(text, width) {
  const lines = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}
