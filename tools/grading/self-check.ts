/**
 * `node --import tsx tools/grading/self-check.ts <chapter> [--answers DIR] [--json]`: grades one
 * chapter's exercises (default: the learner's `exercises/`) and prints the report, as a table or
 * as JSON for the notebook self-check cell (`ah.selfCheck`). It runs in its own process so a
 * notebook always grades the files as they are on disk now, not a cached copy, and it grades
 * with the sandboxed grader (`grade.ts`), like `npm run grade`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../src/backend/backend';
import { selfCheckText } from '../../src/course/self-check';
import { loadSpecs, type ExerciseResult } from './framework';
import { gradeSubmission } from './grade';

const ROOT = path.resolve(__dirname, '..', '..');

export interface ChapterReport {
  chapter: string;
  answers: string;
  earned: number;
  possible: number;
  exercises: ExerciseResult[];
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
  };
}

async function main(argv: string[]): Promise<number> {
  const chapter = argv.find(
    (a) => !a.startsWith('--') && argv[argv.indexOf(a) - 1] !== '--answers',
  );
  const at = argv.indexOf('--answers');
  const answersRoot = path.resolve(ROOT, at >= 0 ? (argv[at + 1] ?? '') : 'exercises');
  if (!chapter) {
    console.error('usage: self-check.ts <chapter> [--answers DIR] [--json]');
    return 2;
  }
  if (!fs.existsSync(answersRoot)) {
    console.error(`self-check: no answers folder ${answersRoot}`);
    return 2;
  }
  await initBackend({ log: false });
  const report = gradeChapter(chapter, answersRoot);
  console.log(argv.includes('--json') ? JSON.stringify(report) : selfCheckText(report));
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
