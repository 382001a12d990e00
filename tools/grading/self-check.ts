/**
 * The grading end of the notebook's self-check cell (`ah.selfCheck`), not a command for
 * learners: they run `npm run grade -- NN`. `ah.selfCheck` starts this file in its own process
 * (so a notebook always grades the files as they are on disk now, not a cached copy) with
 * `<chapter> [--answers DIR] --json`; it grades with the sandboxed grader (`grade.ts`), exactly as
 * `npm run grade -- <chapter>` does, and prints the chapter's report as one JSON line whose
 * `text` is what `npm run grade` prints (`reportText`), so the cell shows the same table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../src/backend/backend';
import { loadSpecs, type ExerciseResult } from './framework';
import { gradeSubmission } from './grade';
import { reportText } from './report';

const ROOT = path.resolve(__dirname, '..', '..');

export interface ChapterReport {
  chapter: string;
  answers: string;
  earned: number;
  possible: number;
  exercises: ExerciseResult[];
  /** The report as `npm run grade -- <chapter>` prints it. */
  text: string;
}

/** Grades every exercise of `chapter` found in `graded/`, against the answers in `answersRoot` (sandboxed). */
export function gradeChapter(chapter: string, answersRoot: string): ChapterReport {
  const specs = loadSpecs(path.join(ROOT, 'graded'));
  const chapters = [...new Set(specs.map((s) => s.chapter))];
  if (!chapters.includes(chapter)) {
    throw new Error(
      `no graded exercises for chapter "${chapter}"; chapters: ${chapters.join(', ')}`,
    );
  }
  const report = gradeSubmission({ answers: answersRoot, chapter });
  return {
    chapter,
    answers: path.relative(ROOT, answersRoot) || '.',
    earned: report.earned,
    possible: report.possible,
    exercises: report.exercises,
    text: reportText(report),
  };
}

async function main(argv: string[]): Promise<number> {
  const chapter = argv.find(
    (a) => !a.startsWith('--') && argv[argv.indexOf(a) - 1] !== '--answers',
  );
  const at = argv.indexOf('--answers');
  const answersRoot = path.resolve(ROOT, at >= 0 ? (argv[at + 1] ?? '') : 'exercises');
  if (!chapter) {
    console.error(
      'usage: self-check.ts <chapter> [--answers DIR] [--json] (learners: npm run grade -- <chapter>)',
    );
    return 2;
  }
  if (!fs.existsSync(answersRoot)) {
    console.error(`self-check: no answers folder ${answersRoot}`);
    return 2;
  }
  await initBackend({ log: false });
  const report = gradeChapter(chapter, answersRoot);
  console.log(argv.includes('--json') ? JSON.stringify(report) : report.text);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`self-check: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
