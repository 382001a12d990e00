/**
 * How grades are shown: a text table per chapter for the terminal, a markdown feedback file per
 * student, the result JSON that GitHub Classroom's autograding reporter reads, and the rows of
 * an RFC 4180 CSV gradebook. Pure functions of a `SubmissionReport`.
 */
import type { ExerciseResult } from './framework';
import type { SubmissionReport } from './grade';
import { inert } from './inert';

/** Throws unless `report` looks like a `SubmissionReport`, naming the function and what it got. */
function checkReport(report: SubmissionReport, fn: string): void {
  if (
    report === null ||
    typeof report !== 'object' ||
    !Array.isArray(report.exercises) ||
    !Array.isArray(report.hidden)
  ) {
    throw new TypeError(
      `${fn}: expected a SubmissionReport (from gradeSubmission), got ${JSON.stringify(report)?.slice(0, 100)}`,
    );
  }
}

const sum = (results: ExerciseResult[], key: 'earned' | 'possible') =>
  results.reduce((s, e) => s + e[key], 0);

/** `results` grouped by chapter, in order of first appearance. */
function byChapter(results: ExerciseResult[]): Map<string, ExerciseResult[]> {
  const groups = new Map<string, ExerciseResult[]>();
  for (const e of results) groups.set(e.chapter, [...(groups.get(e.chapter) ?? []), e]);
  return groups;
}

/** Feedback lines of one exercise's failed tests, repeated messages shown once. */
function feedbackOf(e: ExerciseResult, max: number): (string | null)[] {
  let previous = '';
  return e.tests.map((t) => {
    if (t.passed) return null;
    const same = t.feedback === previous;
    previous = t.feedback;
    if (same) return '(same as above)';
    return t.feedback.length > max ? `${t.feedback.slice(0, max)}...` : t.feedback;
  });
}

/** Widest exercise and test columns of the terminal table; longer names are cut with "...". */
export const TABLE_WIDTHS = { exercise: 24, test: 60 };

/** `text` padded to `width`, or cut to it ending in "..." (the JSON keeps the whole name). */
function cell(text: string, width: number): string {
  return text.length <= width ? text.padEnd(width) : `${text.slice(0, width - 3)}...`;
}

function table(title: string, results: ExerciseResult[], maxFeedback: number): string[] {
  const lines = [`${title}: ${sum(results, 'earned')}/${sum(results, 'possible')} points`];
  const exWidth = Math.min(
    TABLE_WIDTHS.exercise,
    Math.max(8, ...results.map((e) => e.exercise.length)),
  );
  const testWidth = Math.min(
    TABLE_WIDTHS.test,
    Math.max(4, ...results.flatMap((e) => e.tests.map((t) => t.name.length))),
  );
  lines.push(`  ${'exercise'.padEnd(exWidth)}  ${'test'.padEnd(testWidth)}  points  result`);
  for (const e of results) {
    const feedback = feedbackOf(e, maxFeedback);
    e.tests.forEach((t, i) => {
      const points = `${t.earned}/${t.points}`.padStart(6);
      const exercise = cell(i === 0 ? e.exercise : '', exWidth);
      lines.push(
        `  ${exercise}  ${cell(t.name, testWidth)}  ${points}  ${t.passed ? 'pass' : 'FAIL'}`,
      );
      const text = feedback[i];
      if (text !== null) {
        const indent = ' '.repeat(exWidth + 6);
        lines.push(...text.split('\n').map((l) => `${indent}${l}`));
      }
    });
    lines.push(
      `  ${''.padEnd(exWidth)}  ${'subtotal'.padEnd(testWidth)}  ${`${e.earned}/${e.possible}`.padStart(6)}`,
    );
  }
  return lines;
}

/**
 * The terminal report: a table per chapter (exercise, test, points, pass/FAIL, feedback under a
 * failed test), the hidden tests in their own tables, and the total.
 * @param maxFeedback characters of feedback shown per test (the JSON has all of it)
 */
export function reportText(report: SubmissionReport, maxFeedback = 800): string {
  checkReport(report, 'reportText');
  const lines: string[] = [];
  for (const [chapter, results] of byChapter(report.exercises)) {
    lines.push(...table(`Chapter ${chapter}`, results, maxFeedback), '');
  }
  for (const [chapter, results] of byChapter(report.hidden)) {
    lines.push(...table(`Hidden tests, chapter ${chapter}`, results, maxFeedback), '');
  }
  lines.push(...report.notes);
  const graded = `${sum(report.exercises, 'earned')}/${sum(report.exercises, 'possible')}`;
  const hidden = report.hidden.length
    ? ` (graded tests ${graded}, hidden tests ${sum(report.hidden, 'earned')}/${sum(report.hidden, 'possible')})`
    : '';
  lines.push(`Total: ${report.earned}/${report.possible} points${hidden}`);
  // Every line made inert (feedback and notes quote the submission): nothing can move the cursor.
  return lines.map((l) => inert(l, true)).join('\n');
}

/** Markdown feedback for one student: totals, then every test with its points and feedback. */
export function feedbackMarkdown(student: string, report: SubmissionReport): string {
  checkReport(report, 'feedbackMarkdown');
  if (typeof student !== 'string')
    throw new TypeError(`feedbackMarkdown: expected a student name, got ${typeof student}`);
  const lines = [
    `# Feedback for ${inert(student, true)}`,
    '',
    `**Total: ${report.earned}/${report.possible} points**`,
    '',
  ];
  const section = (heading: string, results: ExerciseResult[]) => {
    for (const [chapter, group] of byChapter(results)) {
      lines.push(`## ${heading} ${chapter}`, '');
      for (const e of group) {
        lines.push(`### ${e.title} (${e.exercise}): ${e.earned}/${e.possible}`, '');
        for (const t of e.tests) {
          lines.push(`- ${t.passed ? '✅' : '❌'} ${t.name} (${t.earned}/${t.points})`);
          if (!t.passed) {
            // A fence longer than any run of backticks in the feedback: it cannot close early.
            const fence = '`'.repeat(
              Math.max(3, ...(t.feedback.match(/`+/g) ?? []).map((r) => r.length + 1)),
            );
            lines.push(
              '',
              `  ${fence}text`,
              ...t.feedback.split('\n').map((l) => `  ${inert(l, true)}`),
              `  ${fence}`,
              '',
            );
          }
        }
        lines.push('');
      }
    }
  };
  section('Chapter', report.exercises);
  section('Hidden tests, chapter', report.hidden);
  if (report.notes.length)
    lines.push('## Notes', '', ...report.notes.map((n) => `- ${inert(n, true)}`), '');
  return `${lines.join('\n').trimEnd()}\n`;
}

/** One test in GitHub Classroom's autograding result format. */
export interface ClassroomTest {
  name: string;
  status: 'pass' | 'fail' | 'error';
  score: number;
  message: string;
}

/** The result JSON read by GitHub Classroom's `autograding-grading-reporter` (version 1). */
export interface ClassroomResult {
  version: 1;
  status: 'pass' | 'fail' | 'error';
  max_score: number;
  tests: ClassroomTest[];
}

/**
 * The report as GitHub Classroom's autograding result: one entry per graded test (hidden ones
 * named as such), its score in points, and `status` "pass" only at full marks.
 */
export function classroomResult(report: SubmissionReport): ClassroomResult {
  checkReport(report, 'classroomResult');
  const tests = [
    ...report.exercises.map((e) => ({ e, prefix: '' })),
    ...report.hidden.map((e) => ({ e, prefix: 'hidden: ' })),
  ].flatMap(({ e, prefix }) =>
    e.tests.map((t): ClassroomTest => ({
      name: `${prefix}${e.chapter}/${e.exercise}: ${t.name}`,
      status: t.passed ? 'pass' : 'fail',
      score: t.earned,
      message: t.feedback,
    })),
  );
  return {
    version: 1,
    status: report.earned === report.possible ? 'pass' : 'fail',
    max_score: report.possible,
    tests,
  };
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes
 * doubled. Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a
 * leading `'`, since student names come from file names anyone can choose.
 */
export function csvField(value: string | number): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new RangeError(`csvField: expected a finite number, got ${value}`);
    return String(value);
  }
  if (typeof value !== 'string')
    throw new TypeError(`csvField: expected a string or number, got ${typeof value}`);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  // Line breaks stay (quoted); other control characters a spreadsheet or terminal would act on
  // are escaped.
  if (/[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(text))
    return csvField(inert(text));
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows as CSV text with CRLF line ends (RFC 4180). */
export function csvText(rows: (string | number)[][]): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}
