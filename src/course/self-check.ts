/**
 * The self-check cell at the end of every chapter: grades the learner's `exercises/` for that
 * chapter and shows points and feedback, the same report `npm run grade -- NN` prints in a
 * terminal (as text, and as an HTML table with the same columns). Grading runs in a child process
 * (the course's grading tool), so it always sees the files as saved now, and a crash in an answer
 * cannot take the notebook's kernel with it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { display } from '../viz/display';
import { escapeXml } from '../viz/format';

/** One graded test's outcome, as the grading tool reports it. */
export interface SelfCheckTest {
  name: string;
  points: number;
  earned: number;
  passed: boolean;
  feedback: string;
}

/** A chapter's grading report. */
export interface SelfCheckReport {
  chapter: string;
  answers: string;
  earned: number;
  possible: number;
  exercises: {
    exercise: string;
    title: string;
    earned: number;
    possible: number;
    tests: SelfCheckTest[];
  }[];
  /** The report exactly as `npm run grade -- <chapter>` prints it (the grader's table). */
  text: string;
}

const ROOT = resolve(__dirname, '..', '..');

/**
 * Grades `chapter` (e.g. `'02-scoring-functions'`) against `answers` (`'exercises'`, the default,
 * or `'solutions'`) in a child process and returns the report.
 */
export function gradeChapter(
  chapter: string,
  answers: 'exercises' | 'solutions' = 'exercises',
): Promise<SelfCheckReport> {
  if (!/^\d\d-[a-z0-9-]+$/.test(chapter)) {
    return Promise.reject(
      new Error(
        `gradeChapter: expected a chapter folder like "02-scoring-functions", got "${chapter}"`,
      ),
    );
  }
  const tool = join(ROOT, 'tools', 'grading', 'self-check.ts');
  if (!existsSync(tool))
    return Promise.reject(new Error(`gradeChapter: the grading tool ${tool} is missing`));
  return new Promise((ok, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', tool, chapter, '--answers', answers, '--json'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', fail);
    child.once('exit', (code) => {
      if (code !== 0)
        return fail(
          new Error(`grading ${chapter} failed (exit ${code}): ${err.trim() || out.trim()}`),
        );
      try {
        ok(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch {
        fail(new Error(`grading ${chapter} printed no report: ${out.slice(0, 500)}`));
      }
    });
  });
}

/**
 * The report as text: the grader's own table (exercise, test, points, pass/FAIL, feedback under
 * each failed test, total), the same lines `npm run grade -- <chapter>` prints.
 */
export function selfCheckText(r: SelfCheckReport): string {
  if (r === null || typeof r !== 'object' || typeof r.text !== 'string') {
    throw new TypeError(
      `selfCheckText: expected a report from gradeChapter (with its text), got ${JSON.stringify(r)?.slice(0, 100)}`,
    );
  }
  return r.text;
}

function selfCheckHtml(r: SelfCheckReport): string {
  const rows = r.exercises.flatMap((e) =>
    e.tests.map(
      (t, i) =>
        `<tr>${i === 0 ? `<td rowspan="${e.tests.length}"><b>${escapeXml(e.title)}</b><br><code>${escapeXml(e.exercise)}</code><br>${e.earned}/${e.possible}</td>` : ''}` +
        `<td>${escapeXml(t.name)}</td><td>${t.earned}/${t.points}</td>` +
        `<td>${t.passed ? 'pass' : `<b>FAIL</b><pre style="margin:0;white-space:pre-wrap">${escapeXml(t.feedback)}</pre>`}</td></tr>`,
    ),
  );
  return (
    `<div class="ah-self-check"><p><b>Chapter ${escapeXml(r.chapter)}: ${r.earned}/${r.possible} points</b> ` +
    `(your files in <code>${escapeXml(r.answers)}/${escapeXml(r.chapter)}/</code>; in a terminal: ` +
    `<code>npm run grade -- ${escapeXml(r.chapter.slice(0, 2))}</code>)</p>` +
    `<table><thead><tr><th>exercise</th><th>test</th><th>points</th><th>result and feedback</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>`
  );
}

/**
 * The notebook's self-check cell: grades the chapter's exercises and shows a table of points and
 * feedback. Returns nothing, so the cell shows the table only once.
 */
export async function selfCheck(
  chapter: string,
  answers: 'exercises' | 'solutions' = 'exercises',
): Promise<void> {
  const report = await gradeChapter(chapter, answers);
  display({ 'text/html': selfCheckHtml(report), 'text/plain': selfCheckText(report) });
}
