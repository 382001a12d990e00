/**
 * Text that a submission controls (feedback, error messages, student and file names) made inert
 * before it is shown in a terminal, Markdown, CSV or JSON.
 *
 * The rule: every control character (C0 except newline, DEL, C1: ESC, CR, BEL, backspace, CSI...)
 * and every bidirectional-formatting character (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) is
 * written as a visible escape, `\xNN` or `\u{NNNN}`. Nothing else changes: case, accents and
 * other non-ASCII letters are kept, and applying it twice changes nothing more. Two names that
 * show the same after it (`a<ESC>b` and a literal `a\x1bb`) are told apart by `distinctNames`.
 */
import { createHash } from 'node:crypto';

const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_LINE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escape(ch: string): string {
  const code = ch.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u{${code.toString(16).padStart(4, '0')}}`;
}

/**
 * `text` with control and bidi characters shown as escapes (see the module comment). Newlines
 * are kept unless `oneLine`, for names and other single-line fields.
 */
export function inert(text: string, oneLine = false): string {
  if (typeof text !== 'string') {
    throw new TypeError(`inert: expected a string, got ${typeof text}`);
  }
  return text.replace(oneLine ? UNSAFE_LINE : UNSAFE, escape);
}

/**
 * Display names for `raw` names (student folder or archive names), one per name, in order:
 * `inert(name, true)`, and where two raw names would show the same (after escaping, or because
 * they differ only in case, which a case-insensitive file system or reader would merge), each of
 * them gets ` #` and the first 8 hex digits of the SHA-256 of its raw name. Distinct students
 * stay distinct; the same name gets the same display name in every run.
 */
export function distinctNames(raw: string[]): string[] {
  if (!Array.isArray(raw) || raw.some((r) => typeof r !== 'string')) {
    throw new TypeError('distinctNames: expected an array of strings');
  }
  const shown = raw.map((r) => inert(r, true));
  const count = new Map<string, number>();
  for (const s of shown) count.set(s.toLowerCase(), (count.get(s.toLowerCase()) ?? 0) + 1);
  return shown.map((s, i) =>
    (count.get(s.toLowerCase()) ?? 0) > 1
      ? `${s} #${createHash('sha256').update(raw[i]).digest('hex').slice(0, 8)}`
      : s,
  );
}
