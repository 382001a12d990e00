/**
 * Tables for notebooks: `showTable(rows)` shows an HTML table (aligned columns in every front end,
 * cells that never wrap a formula into fragments) with a padded plain-text fallback for terminals.
 */
import { display, type MimeBundle } from './display';
import { escapeXml, formatMetric } from './format';
import { describeValue } from '../core/describe';

/** One table row: column name -> value. Every row has the same columns. */
export type TableRow = Record<string, string | number>;

/** Options of `showTable` and `tableBundle`. */
export interface TableOptions {
  /** A caption above the table. */
  title?: string;
  /**
   * Digits after the point for non-integer numbers (`toFixed`), for every column or per column
   * name; by default at most 4 significant digits. Integers are printed as they are.
   */
  digits?: number | Record<string, number>;
}

function checkRows(rows: unknown): string[] {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new TypeError(
      `rows: expected a non-empty array of row objects, got ${describeValue(rows)}`,
    );
  }
  const first: unknown = rows[0];
  if (first === null || typeof first !== 'object' || Array.isArray(first)) {
    throw new TypeError(
      `rows[0]: expected an object (column -> value), got ${describeValue(first)}`,
    );
  }
  const columns = Object.keys(first);
  if (columns.length === 0) throw new Error('rows[0]: expected at least one column, got none');
  rows.forEach((row: unknown, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new TypeError(`rows[${i}]: expected an object, got ${describeValue(row)}`);
    }
    const keys = Object.keys(row);
    if (keys.length !== columns.length || keys.some((k, j) => k !== columns[j])) {
      throw new Error(
        `rows[${i}]: expected the columns of rows[0] (${columns.join(', ')}), got ${keys.join(', ')}`,
      );
    }
    for (const k of keys) {
      const v: unknown = (row as TableRow)[k];
      if (typeof v !== 'string' && typeof v !== 'number') {
        throw new TypeError(
          `rows[${i}].${k}: expected a string or a number, got ${describeValue(v)}`,
        );
      }
    }
  });
  return columns;
}

/**
 * The mime bundle of a table: `text/html` (a `<table class="ah-table">`, numbers right-aligned,
 * no cell wrapping) and `text/plain` (columns padded with spaces).
 */
export function tableBundle(rows: TableRow[], opts: TableOptions = {}): MimeBundle {
  const columns = checkRows(rows);
  const digitsOf = (column: string): number | undefined => {
    const d = typeof opts.digits === 'object' ? opts.digits[column] : opts.digits;
    if (d !== undefined && !(Number.isInteger(d) && d >= 0 && d <= 20)) {
      throw new RangeError(`digits: expected an integer from 0 to 20, got ${String(d)}`);
    }
    return d;
  };
  if (opts.digits !== null && typeof opts.digits === 'object') {
    for (const k of Object.keys(opts.digits)) {
      if (!columns.includes(k)) {
        throw new Error(`digits: expected column names (${columns.join(', ')}), got "${k}"`);
      }
    }
  }
  columns.forEach(digitsOf);
  const text = (v: string | number, column: string): string => {
    if (typeof v === 'string') return v;
    const d = digitsOf(column);
    // Sizes and counts (integers) stay as they are: `d = 512`, not `512.000`.
    return d === undefined || Number.isInteger(v) ? formatMetric(v) : v.toFixed(d);
  };
  const numeric = columns.map((c) => rows.every((r) => typeof r[c] === 'number'));
  const cells = rows.map((r) => columns.map((c) => text(r[c], c)));
  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((row) => row[j].length)));
  const pad = (s: string, j: number): string =>
    numeric[j] ? s.padStart(widths[j]) : s.padEnd(widths[j]);
  const plain = [
    ...(opts.title ? [opts.title] : []),
    columns.map(pad).join('  ').trimEnd(),
    ...cells.map((row) => row.map(pad).join('  ').trimEnd()),
  ].join('\n');
  const cellStyle = (j: number): string =>
    `padding:2px 10px;white-space:nowrap;text-align:${numeric[j] ? 'right' : 'left'}`;
  const html =
    '<table class="ah-table" style="border-collapse:collapse">' +
    (opts.title ? `<caption style="text-align:left">${escapeXml(opts.title)}</caption>` : '') +
    '<thead><tr>' +
    columns
      .map(
        (c, j) =>
          `<th style="${cellStyle(j)};border-bottom:1px solid #999;white-space:normal">${escapeXml(c)}</th>`,
      )
      .join('') +
    '</tr></thead><tbody>' +
    cells
      .map(
        (row) =>
          '<tr>' +
          row.map((v, j) => `<td style="${cellStyle(j)}">${escapeXml(v)}</td>`).join('') +
          '</tr>',
      )
      .join('') +
    '</tbody></table>';
  return { 'text/html': html, 'text/plain': plain };
}

/**
 * Shows rows of values as a table cell output:
 * `showTable([{ kernel: 'Gaussian', 'K(u)': 'exp(-u²/2)' }, ...])`. See `tableBundle`.
 */
export function showTable(rows: TableRow[], opts: TableOptions = {}): void {
  display(tableBundle(rows, opts));
}
