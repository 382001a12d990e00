/**
 * Prose that cannot disagree with the numbers a notebook printed.
 *
 * A chapter's markdown never states a number its own run measures: training on another machine,
 * another backend or in fast mode gives other numbers, and a sentence written once by hand would
 * silently go stale. Instead:
 *
 * - `writeUp` shows a paragraph rendered from this run's values (a template string in a code cell),
 *   so each number in the sentence is the number that was just printed;
 * - `checkClaims` states the chapter's qualitative findings ("the baseline falls with length while
 *   attention holds") next to what this run measured, and fails the cell when one does not hold,
 *   so the book build and `npm run bench -- course` catch a finding the models stopped supporting.
 *   In fast mode (training shrunk to seconds) the findings are shown but not enforced.
 */
import { isFastMode } from './fast-mode';
import { display } from '../viz/display';

/** One qualitative finding of a chapter, with this run's evidence. */
export interface Claim {
  /** The finding as the prose states it, e.g. "attention keeps >= 90% exact match at length 40". */
  statement: string;
  /** Whether this run's measurements support it. */
  holds: boolean;
  /** What was measured, in words, e.g. "attention 97.5%, baseline 12.0% at length 40". */
  measured: string;
}

/** What `checkClaims` decided. */
export interface ClaimReport {
  /** `checked`: enforced (default mode); `shown`: fast mode, displayed but not enforced. */
  mode: 'checked' | 'shown';
  /** The claims that do not hold in this run. */
  failed: Claim[];
}

/** Thrown by `checkClaims` in the default mode when a finding does not hold. */
export class ClaimError extends Error {
  constructor(
    message: string,
    readonly failed: Claim[],
  ) {
    super(message);
    this.name = 'ClaimError';
  }
}

function checkText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    const got = typeof value === 'string' ? 'an empty string' : typeof value;
    throw new TypeError(`${name}: expected a non-empty string, got ${got}`);
  }
  return value;
}

/**
 * Show a paragraph of markdown whose numbers come from this run, e.g.
 * ``ah.writeUp(`The attention model reached ${pct(acc)} on the held-out dates.`)``.
 * In a notebook it renders as markdown; in a terminal the text is printed.
 */
export function writeUp(markdown: string): void {
  const text = checkText(markdown, 'writeUp: markdown');
  display({ 'text/markdown': text, 'text/plain': text });
}

function checkClaim(claim: unknown, i: number): Claim {
  if (claim === null || typeof claim !== 'object') {
    throw new TypeError(
      `checkClaims: claims[${i}]: expected { statement, holds, measured }, got ${claim === null ? 'null' : typeof claim}`,
    );
  }
  const c = claim as Partial<Claim>;
  checkText(c.statement, `checkClaims: claims[${i}].statement`);
  checkText(c.measured, `checkClaims: claims[${i}].measured`);
  if (typeof c.holds !== 'boolean') {
    throw new TypeError(
      `checkClaims: claims[${i}].holds: expected a boolean (the comparison itself), got ${typeof c.holds}`,
    );
  }
  return c as Claim;
}

/**
 * Show the chapter's findings with this run's evidence, and, in the default mode, throw a
 * `ClaimError` naming every finding that does not hold. In fast mode the findings are shown marked
 * "not checked" because seconds of training cannot support them.
 */
export function checkClaims(
  claims: Claim[],
  options: { env?: Record<string, string | undefined> } = {},
): ClaimReport {
  if (!Array.isArray(claims) || claims.length === 0) {
    throw new TypeError(
      `checkClaims: claims: expected a non-empty array of { statement, holds, measured }, got ${Array.isArray(claims) ? 'an empty array' : typeof claims}`,
    );
  }
  const checked = claims.map(checkClaim);
  const fast = isFastMode(options.env);
  const mark = (c: Claim) => (fast ? '·' : c.holds ? '✓' : '✗');
  const lines = checked.map((c) => `${mark(c)} ${c.statement} (measured: ${c.measured})`);
  const heading = fast
    ? 'Findings (fast mode: too little training to check them; run the default mode)'
    : 'Findings, checked against this run';
  display({
    'text/markdown': `**${heading}**\n\n${lines.map((l) => `- ${l}`).join('\n')}`,
    'text/plain': [heading, ...lines.map((l) => `  ${l}`)].join('\n'),
  });
  const failed = checked.filter((c) => !c.holds);
  if (!fast && failed.length > 0) {
    throw new ClaimError(
      `checkClaims: ${failed.length} finding(s) the chapter states do not hold in this run:\n` +
        failed.map((c) => `  - ${c.statement} (measured: ${c.measured})`).join('\n'),
      failed,
    );
  }
  return { mode: fast ? 'shown' : 'checked', failed };
}
