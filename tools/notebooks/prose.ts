/**
 * Numbers in a notebook's prose must be numbers the notebook printed.
 *
 * A markdown cell that says "the flash holds 0.78 of attention" makes a claim about an output. This
 * module finds every number in the prose that looks like a result (a decimal, a percentage, a
 * duration) and checks that the executed notebook's own outputs contain it. Numbers that are not
 * results are exempt when the prose says where they come from: inside math or code, on a line that
 * cites a source (a paper, "et al.", a year in parentheses), or listed with a reason in the
 * notebook's metadata under `attention.settings` (a chosen setting such as a 60 s budget, an
 * estimated reading time). Results that depend on training belong in `writeUp` output, never in
 * markdown: they change with the machine and the mode.
 */
import type { Notebook } from './nbformat';

/** One number in a markdown cell. */
export interface ProseNumber {
  /** 1-based cell number in the notebook. */
  cell: number;
  /** The number as written, e.g. "0.78", "56 ms", "99.5%". */
  text: string;
  /** The digits alone, as they must appear in an output, e.g. "0.78", "56", "99.5". */
  value: string;
  /** The line it is on, for the error message. */
  line: string;
}

/** Exemptions a notebook declares: `metadata.attention.settings`, number text -> reason. */
export type ProseSettings = Record<string, string>;

const RESULT_NUMBER = /(?<![\w.,])(\d[\d,]*\.\d+|\d[\d,]*)(\s*(?:%|ms\b|s\b|seconds\b))?(?![\w])/g;
const CITES_SOURCE = /et al\.|\bpaper\b|\bTable \d|\(\d{4}\)|\d{4}[a-z]?\)|\bsee\b.*\(/i;

function cellText(source: string | string[]): string {
  return Array.isArray(source) ? source.join('') : source;
}

/** Markdown with math, inline code, fenced code, links' targets and HTML tags removed. */
function prose(markdown: string): string {
  return markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/\$\$[\s\S]*?\$\$/g, ' ')
    .replace(/\$[^$\n]*\$/g, ' ')
    .replace(/`[^`\n]*`/g, ' ')
    .replace(/\]\([^)]*\)/g, ']')
    .replace(/<[^>]+>/g, ' ');
}

/**
 * The result-like numbers of every markdown cell: decimals (`0.78`), percentages (`99.5%`) and
 * durations (`56 ms`, `41 s`), outside math and code and not on a line that cites a source.
 */
export function proseNumbers(nb: Notebook): ProseNumber[] {
  if (nb === null || typeof nb !== 'object' || !Array.isArray(nb.cells)) {
    throw new TypeError(
      `proseNumbers: nb: expected a notebook with a cells array, got ${typeof nb}`,
    );
  }
  const found: ProseNumber[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== 'markdown') return;
    for (const line of prose(cellText(cell.source)).split('\n')) {
      if (CITES_SOURCE.test(line)) continue;
      for (const m of line.matchAll(RESULT_NUMBER)) {
        const isDecimal = m[1].includes('.');
        if (!isDecimal && m[2] === undefined) continue; // a plain count: "3 heads", "Figure 2"
        found.push({ cell: i + 1, text: m[0].trim(), value: m[1], line: line.trim() });
      }
    }
  });
  return found;
}

/** Everything the executed notebook printed or displayed as text, joined. */
export function outputText(executed: Notebook): string {
  const parts: string[] = [];
  for (const cell of executed.cells) {
    if (cell.cell_type !== 'code') continue;
    for (const out of (cell.outputs ?? []) as Array<Record<string, unknown>>) {
      if (typeof out.text === 'string' || Array.isArray(out.text)) {
        parts.push(cellText(out.text as string | string[]));
      }
      const data = out.data as Record<string, unknown> | undefined;
      for (const type of ['text/plain', 'text/markdown', 'text/html']) {
        const v = data?.[type];
        if (typeof v === 'string' || Array.isArray(v)) parts.push(cellText(v as string | string[]));
      }
    }
  }
  return parts.join('\n');
}

/** The exemptions the notebook declares in `metadata.attention.settings`. */
export function proseSettings(nb: Notebook): ProseSettings {
  const settings = (nb.metadata?.attention as { settings?: unknown } | undefined)?.settings;
  if (settings === undefined) return {};
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
    throw new TypeError(
      'metadata.attention.settings: expected an object { "number as written": "why it is not a result" }',
    );
  }
  for (const [k, v] of Object.entries(settings)) {
    if (typeof v !== 'string' || v.trim() === '') {
      throw new TypeError(`metadata.attention.settings["${k}"]: expected a reason (a string)`);
    }
  }
  return settings as ProseSettings;
}

/**
 * The prose numbers of `source` that its executed copy never printed and that are not declared as
 * settings: each one is a claim nothing backs. Numbers are matched on their digits with the digits
 * around them not continuing them ("0.78" matches "0.78" and "0.780" does not).
 */
export function unbackedProseNumbers(source: Notebook, executed: Notebook): ProseNumber[] {
  const printed = outputText(executed);
  const settings = proseSettings(source);
  return proseNumbers(source).filter((n) => {
    if (n.text in settings || n.value in settings) return false;
    const digits = n.value.replace(/,/g, '');
    const pattern = new RegExp(`(?<![\\d.])(${escape(n.value)}|${escape(digits)})(?![\\d]|\\.\\d)`);
    return !pattern.test(printed);
  });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
