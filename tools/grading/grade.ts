/**
 * Grades one submission (a folder laid out like `exercises/`) the way students, instructors and
 * CI see it. The graded tests (and hidden tests) are loaded here, in the trusted process, from
 * the instructor's copy; the submission is type-checked here, then each answer file runs in its
 * own sandbox process (`sandbox.ts`), reused across that exercise's tests and restarted after a
 * death or a timeout. This process never `require`s a submission file.
 */
import * as path from 'node:path';
import { loadSpecs, runGradedTests, type ExerciseResult, type ExerciseSpec } from './framework';
import { inert } from './inert';
import { isolationStatus, type IsolationStatus } from './isolation';
import { prepareSubmission } from './prepare';
import { SandboxSession, type SandboxLimits } from './sandbox';
import { typeCheckAnswersIsolated } from './typecheck';

const ROOT = path.resolve(__dirname, '..', '..');

/** What to grade and how. */
export interface GradeOptions {
  /** The answers: a folder of `NN-slug/*.ts` files, like `exercises/`. */
  answers: string;
  /** The graded tests. Defaults to the repository's `graded/`. */
  graded?: string;
  /** A folder of hidden tests, laid out like `graded/`. Defaults to none. */
  hidden?: string;
  /** Only this chapter: its folder name or a prefix of it (`01`, `01-attention`). */
  chapter?: string;
  /** Only this exercise: its id or a prefix of it (`masked`). */
  exercise?: string;
  /** Sandbox time and memory limits (see `SANDBOX_LIMITS`). */
  limits?: Partial<SandboxLimits>;
  /** Time for the whole submission, in ms. Defaults to 300 000 (5 minutes). */
  submissionMs?: number;
  /** Type-check the answer files against the stubs. Defaults to true. */
  typeCheck?: boolean;
  /** The exercise stubs whose signatures answers must match. Defaults to the repository's `exercises/`. */
  stubs?: string;
  /**
   * Refuse to grade (throw `IsolationError`) unless sandboxes run under OS isolation. Instructor
   * grading sets it unless told otherwise; a student's self-check does not. Defaults to false.
   */
  requireIsolation?: boolean;
}

/** OS isolation was required (`GradeOptions.requireIsolation`) and is not available here. */
export class IsolationError extends Error {
  constructor(status: IsolationStatus) {
    super(
      `refusing to grade without OS isolation: ${status.detail}. Install bubblewrap (Linux, user ` +
        `namespaces allowed), or pass --allow-unisolated to grade with Node's permission model ` +
        `only (every row is then marked "node-permissions-only")`,
    );
    this.name = 'IsolationError';
  }
}

/** The grades of one submission. */
export interface SubmissionReport {
  /** The answers folder, as given. */
  answers: string;
  /** Points earned and possible, graded and hidden tests together. */
  earned: number;
  possible: number;
  /** The graded tests' results, one entry per exercise. */
  exercises: ExerciseResult[];
  /** The hidden tests' results (empty without hidden tests). */
  hidden: ExerciseResult[];
  /** Things the learner should know that are not a test (files skipped when copying). */
  notes: string[];
  /** Wall time of the grading, in seconds. */
  seconds: number;
  /** How the answers were isolated: `bubblewrap`, or `node-permissions-only` (no OS isolation). */
  isolation: IsolationStatus['mode'];
}

/** Chapters of `specs`, sorted. */
function chaptersOf(specs: ExerciseSpec[]): string[] {
  return [...new Set(specs.map((s) => s.chapter))].sort();
}

/**
 * The specs of the chapter and exercise asked for. A name or unambiguous prefix selects; an
 * unknown or ambiguous one throws, naming what exists.
 */
export function selectSpecs(
  specs: ExerciseSpec[],
  chapter?: string,
  exercise?: string,
): ExerciseSpec[] {
  const pick = (names: string[], wanted: string, what: string): string => {
    if (names.includes(wanted)) return wanted;
    const hits = names.filter((n) => n.startsWith(wanted));
    if (hits.length === 1) return hits[0];
    throw new Error(
      hits.length === 0
        ? `no ${what} matches "${wanted}"; ${what}s: ${names.join(', ')}`
        : `"${wanted}" matches several ${what}s (${hits.join(', ')}); give more of the name`,
    );
  };
  let selected = specs;
  if (chapter !== undefined) {
    const name = pick(chaptersOf(specs), chapter, 'chapter');
    selected = selected.filter((s) => s.chapter === name);
  }
  if (exercise !== undefined) {
    const name = pick([...new Set(selected.map((s) => s.exercise))], exercise, 'exercise');
    selected = selected.filter((s) => s.exercise === name);
  }
  return selected;
}

/** Every test of `spec` failed with one message. */
function failAll(spec: ExerciseSpec, message: string): ExerciseResult {
  return runGradedTests(spec, { error: message });
}

/**
 * Grades the answers in `opts.answers` against the graded tests (and hidden tests), sandboxed.
 * Call `initBackend()` first: expected values are computed on this process's backend.
 */
export function gradeSubmission(opts: GradeOptions): SubmissionReport {
  const started = Date.now();
  if (typeof opts?.answers !== 'string' || opts.answers === '') {
    throw new TypeError(
      `gradeSubmission: expected options with an answers folder, got ${JSON.stringify(opts)}`,
    );
  }
  const submissionMs = opts.submissionMs ?? 300_000;
  if (!(submissionMs > 0))
    throw new RangeError(`gradeSubmission: submissionMs must be > 0, got ${submissionMs}`);
  const visible = selectSpecs(
    loadSpecs(opts.graded ?? path.join(ROOT, 'graded')),
    opts.chapter,
    opts.exercise,
  );
  const hiddenAll = opts.hidden ? loadSpecs(path.resolve(opts.hidden)) : [];
  const hidden = hiddenAll.filter((h) =>
    visible.some((v) => v.chapter === h.chapter && v.exercise === h.exercise),
  );
  const fileOf = (s: ExerciseSpec) => `${s.chapter}/${s.file}`;
  const files = [...new Set([...visible, ...hidden].map(fileOf))];

  const isolation = isolationStatus();
  if (opts.requireIsolation && !isolation.isolated) throw new IsolationError(isolation);
  const prepared = prepareSubmission(opts.answers);
  const session = new SandboxSession(opts.limits, isolation);
  const deadline = started + submissionMs;
  const gate = () =>
    Date.now() > deadline
      ? `not run: the time limit for the whole submission (${submissionMs / 1000} s) was used up`
      : undefined;
  const results = new Map<ExerciseSpec, ExerciseResult>();
  try {
    const typeErrors =
      opts.typeCheck === false
        ? new Map<string, string[]>()
        : typeCheckAnswersIsolated(
            path.resolve(opts.answers),
            files.filter((f) => prepared.files.has(f)),
            opts.stubs,
          );
    for (const file of files) {
      const specs = [...visible, ...hidden].filter((s) => fileOf(s) === file);
      if (!prepared.files.has(file)) {
        for (const s of specs) results.set(s, failAll(s, `missing answer file ${file}`));
        continue;
      }
      const errors = typeErrors.get(file) ?? [];
      if (errors.length > 0) {
        const message = `${file} does not compile, so no test ran:\n${errors.join('\n')}`;
        for (const s of specs) results.set(s, failAll(s, message));
        continue;
      }
      const stop = gate();
      if (stop) {
        for (const s of specs) results.set(s, failAll(s, stop));
        continue;
      }
      const withheld = {
        exercise: specs[0].exercise,
        names: [...new Set(specs.flatMap((s) => s.reimplements ?? []))],
      };
      const opened = session.open(prepared.dir, file, deadline, withheld);
      for (const s of specs) {
        results.set(
          s,
          runGradedTests(s, 'module' in opened ? opened : { error: opened.failure }, gate),
        );
      }
    }
  } finally {
    session.close();
    prepared.cleanup();
  }
  const exercises = visible.map((s) => results.get(s)!);
  const hiddenResults = hidden.map((s) => results.get(s)!);
  const all = [...exercises, ...hiddenResults];
  return {
    answers: opts.answers,
    earned: all.reduce((sum, e) => sum + e.earned, 0),
    possible: all.reduce((sum, e) => sum + e.possible, 0),
    exercises,
    hidden: hiddenResults,
    notes: prepared.skipped.map((s) => inert(`not graded: ${s}`, true)),
    seconds: (Date.now() - started) / 1000,
    isolation: isolation.mode,
  };
}
