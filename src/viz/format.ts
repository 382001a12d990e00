/**
 * Small text helpers shared by the figure renderers and the progress display, so that a number
 * reads the same in a plot, a progress bar and a summary line.
 */

/**
 * Rounds `v` to 4 significant digits for display and storage in notebooks. Integers are kept as
 * they are: step numbers like 12345 are short already and must not become 12350.
 */
export function round4(v: number): number {
  if (!Number.isFinite(v) || Number.isInteger(v)) return v;
  return Number(v.toPrecision(4));
}

/** Formats a metric with at most 4 significant digits and no trailing zeros: `0.4123`, `0.97`. */
export function formatMetric(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return String(round4(v));
}

/** Formats a duration in milliseconds as seconds with one decimal: `1234` -> `1.2 s`. */
export function formatSeconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

/** Escapes text for XML/HTML content and double-quoted attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;',
  );
}
