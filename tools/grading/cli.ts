/**
 * `npm run grade`: grades answers with the sandboxed grader and prints a table per chapter.
 *
 *   npm run grade                          your exercises/, every chapter
 *   npm run grade -- 02                    one chapter (name or prefix)
 *   npm run grade -- 02 masked             one exercise of it
 *   npm run grade -- --solutions           the reference answers (instructors)
 *   npm run grade -- --batch DIR --out DIR batch grading (instructors; see batch.ts)
 *
 * Exits 0 whatever the score unless `--strict` (then 1 below full marks), and 2 on bad usage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { initBackend } from '../../src/backend/backend';
import { runCommand, UsageError } from '../command';
import { gradeBatch } from './batch';
import { gradeSubmission, IsolationError, type SubmissionReport } from './grade';
import { isolationStatus } from './isolation';
import { classroomResult, reportText } from './report';

const ROOT = path.resolve(__dirname, '..', '..');

export const USAGE = `usage: npm run grade -- [chapter] [exercise] [options]
       npm run grade -- --batch SUBMISSIONS_DIR --out RESULTS_DIR [--hidden DIR] [--workers N]

Grades answers in a sandbox and prints a table per chapter: exercise, test, points, pass/FAIL
and feedback. chapter and exercise accept a prefix (e.g. 01, masked).

  --solutions        grade the reference answers in solutions/ (instructors)
  --answers DIR      grade the answers in DIR (default: exercises/)
  --hidden DIR       also run the hidden tests in DIR (laid out like graded/)
  --json FILE        also write the results as JSON to FILE
  --classroom FILE   also write GitHub Classroom's autograding result JSON to FILE
                     (and "result=<base64>" to $GITHUB_OUTPUT when that is set)
  --strict           exit 1 unless every point is earned (for CI)
  --batch DIR        grade every submission (folder, .zip or .tar.gz) in DIR
  --out DIR          where batch grading writes gradebook.csv, feedback/ and results.json
  --workers N        submissions graded at once (default: the number of cores, ${os.cpus().length})
  --allow-unisolated grade --answers or --batch even where bubblewrap cannot isolate the
                     sandboxes (Node's permission model only; results are marked so)
  -h, --help         show this help`;

/** Parsed command line. */
export interface CliOptions {
  chapter?: string;
  exercise?: string;
  answers: string;
  hidden?: string;
  json?: string;
  classroom?: string;
  strict: boolean;
  batch?: string;
  out?: string;
  workers?: number;
  /** Whether the answers are someone else's (`--answers`, `--batch`): OS isolation required. */
  instructor: boolean;
  allowUnisolated: boolean;
  help: boolean;
}

const WITH_VALUE = [
  '--answers',
  '--hidden',
  '--json',
  '--classroom',
  '--batch',
  '--out',
  '--workers',
];

/** Parses `argv` (without node and the script); throws `UsageError` naming what was expected. */
export function parseArgs(argv: string[]): CliOptions {
  const opts: CliOptions = {
    answers: path.join(ROOT, 'exercises'),
    strict: false,
    help: false,
    instructor: false,
    allowUnisolated: false,
  };
  const positional: string[] = [];
  let solutions = false;
  let answersGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') opts.help = true;
    else if (a === '--strict') opts.strict = true;
    else if (a === '--solutions') solutions = true;
    else if (a === '--allow-unisolated') opts.allowUnisolated = true;
    else if (WITH_VALUE.includes(a)) {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) {
        throw new UsageError(
          `${a} expects a value, got ${value === undefined ? 'nothing' : `"${value}"`}`,
        );
      }
      if (a === '--answers') {
        opts.answers = path.resolve(value);
        answersGiven = true;
      } else if (a === '--workers') {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1)
          throw new UsageError(`--workers expects an integer >= 1, got "${value}"`);
        opts.workers = n;
      } else {
        opts[a.slice(2) as 'hidden' | 'json' | 'classroom' | 'batch' | 'out'] = path.resolve(value);
      }
    } else if (a.startsWith('-')) {
      throw new UsageError(
        `unknown option "${a}"; expected one of ${['--solutions', '--strict', '--allow-unisolated', ...WITH_VALUE, '-h'].join(', ')}`,
      );
    } else positional.push(a);
  }
  if (positional.length > 2) {
    throw new UsageError(
      `expected at most [chapter] [exercise], got ${positional.length} names: ${positional.join(' ')}`,
    );
  }
  [opts.chapter, opts.exercise] = positional;
  if (solutions && answersGiven)
    throw new UsageError('expected --solutions or --answers DIR, got both');
  if (solutions) opts.answers = path.join(ROOT, 'solutions');
  opts.instructor = answersGiven || opts.batch !== undefined;
  if (opts.batch !== undefined) {
    if (opts.out === undefined)
      throw new UsageError('--batch expects --out RESULTS_DIR too, got no --out');
    if (solutions || answersGiven || positional.length > 0) {
      throw new UsageError(
        '--batch grades whole submissions: expected no chapter, exercise, --answers or --solutions',
      );
    }
  } else if (opts.out !== undefined || opts.workers !== undefined) {
    throw new UsageError('--out and --workers go with --batch, got them without --batch');
  }
  return opts;
}

function writeOutputs(report: SubmissionReport, opts: CliOptions): void {
  if (opts.json) {
    fs.mkdirSync(path.dirname(opts.json), { recursive: true });
    fs.writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
  }
  if (opts.classroom) {
    const result = JSON.stringify(classroomResult(report));
    fs.mkdirSync(path.dirname(opts.classroom), { recursive: true });
    fs.writeFileSync(opts.classroom, `${result}\n`);
    // The reporter action reads each runner's result as a base64 step output named "result".
    if (process.env.GITHUB_OUTPUT) {
      fs.appendFileSync(
        process.env.GITHUB_OUTPUT,
        `result=${Buffer.from(result).toString('base64')}\n`,
      );
    }
  }
}

/** Runs the command; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const opts = parseArgs(argv);
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const isolation = isolationStatus();
  if (!isolation.isolated) {
    // A student grading their own answers gains nothing by escaping: the self-check still runs.
    if (opts.instructor && !opts.allowUnisolated) {
      console.error(`grade: ${new IsolationError(isolation).message}`);
      return 2;
    }
    console.error(`grade: OS isolation is off (${isolation.detail}); Node's permission model only`);
  }
  if (opts.batch !== undefined) {
    const summary = await gradeBatch({
      submissions: opts.batch,
      out: opts.out!,
      hidden: opts.hidden,
      workers: opts.workers,
      allowUnisolated: opts.allowUnisolated,
    });
    return opts.strict && summary.some((s) => s.earned < s.possible) ? 1 : 0;
  }
  for (const [flag, dir] of [
    ['--answers', opts.answers],
    ['--hidden', opts.hidden],
  ] as const) {
    if (dir !== undefined && !(fs.existsSync(dir) && fs.statSync(dir).isDirectory())) {
      throw new UsageError(`${flag} expects a folder, got ${dir} (not found)`);
    }
  }
  await initBackend({ log: false });
  let report: SubmissionReport;
  try {
    report = gradeSubmission({
      answers: opts.answers,
      hidden: opts.hidden,
      chapter: opts.chapter,
      exercise: opts.exercise,
      requireIsolation: opts.instructor && !opts.allowUnisolated,
    });
  } catch (error) {
    // An unknown chapter or exercise is a usage error: the message names what exists.
    if (
      error instanceof Error &&
      /^no (chapter|exercise) matches|matches several/.test(error.message)
    ) {
      console.error(`grade: ${error.message}`);
      return 2;
    }
    throw error;
  }
  console.log(
    `Grading ${path.relative(process.cwd(), opts.answers) || '.'} (${report.seconds.toFixed(1)} s)\n`,
  );
  console.log(reportText(report));
  writeOutputs(report, opts);
  return opts.strict && report.earned < report.possible ? 1 : 0;
}

if (require.main === module) runCommand('grade', main, USAGE);
