/**
 * The graded-exercise framework: how a graded test is written, and how a folder of answers
 * (`exercises/` or `solutions/`, or a student's copy) is scored against it.
 *
 * A graded test receives the answer module and throws to fail. `Feedback` errors carry a message
 * for the learner (expected vs got, shapes, a hint); any other error is reported as a crash of
 * the answer, and a `NotImplementedError` as "not written yet". Scores come only from passed tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeMismatch, type CloseOptions, type ExpectedTensor } from '../../src/core/compare';
import { NotImplementedError } from '../../src/course/exercise';
import { formatShape } from '../../src/core/shapes';
import { inert } from './inert';

/** One graded test of one exercise. */
export interface GradedTest<M> {
  /** What it checks, in words a learner understands. */
  name: string;
  /** Points earned when it passes (a positive integer). */
  points: number;
  /**
   * Throws (preferably a `Feedback`) when the answer is wrong. Synchronous, so that the grader can
   * free every tensor it made with `tf.tidy`.
   */
  run(answers: M): void;
}

/** The graded tests of one exercise file. */
export interface ExerciseSpec<M = unknown> {
  /** Chapter folder, e.g. `02-scoring-functions`. */
  chapter: string;
  /** Exercise id, e.g. `masked-softmax`. */
  exercise: string;
  /** Answer file inside the chapter folder, e.g. `masked-softmax.ts`. */
  file: string;
  /** Short title for reports. */
  title: string;
  /**
   * The exercise's number in the notebooks, `NN.M` (e.g. `00.2`): reports list exercises in this
   * order. Optional: when absent it is read from the stub's doc comment (`Exercise 00.2: ...` in
   * `exercises/<chapter>/<file>`), and exercises without one come last, by name.
   */
  number?: string;
  /**
   * Exports of the course library (`attention-hands-on`) that this exercise asks the learner to
   * write, e.g. `['maskedSoftmax']`. While its answer file is graded, the sandbox's copy of the
   * library replaces them with functions that throw "the library's maskedSoftmax is not
   * available while grading masked-softmax", so an answer cannot call the course's own
   * implementation. Defaults to none.
   */
  reimplements?: string[];
  tests: GradedTest<M>[];
}

/** Declares the graded tests of an exercise; `M` is the type of the exercise module. */
export function defineExercise<M>(spec: ExerciseSpec<M>): ExerciseSpec<M> {
  if (
    spec.reimplements !== undefined &&
    !(
      Array.isArray(spec.reimplements) &&
      spec.reimplements.every((n) => typeof n === 'string' && /^[A-Za-z_$][\w$]*$/.test(n))
    )
  ) {
    throw new TypeError(
      `${spec.exercise}: reimplements must be names of library exports, got ${JSON.stringify(spec.reimplements)}`,
    );
  }
  if (spec.number !== undefined && !/^\d+\.\d+$/.test(spec.number)) {
    throw new RangeError(
      `${spec.exercise}: number must look like "00.2" (chapter.exercise), got "${spec.number}"`,
    );
  }
  for (const t of spec.tests) {
    if (!Number.isInteger(t.points) || t.points < 1) {
      throw new RangeError(
        `${spec.exercise} / ${t.name}: points must be a positive integer, got ${t.points}`,
      );
    }
  }
  return spec;
}

/** A failure with a message meant for the learner. */
export class Feedback extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Feedback';
  }
}

/** Fails with `message` unless `condition` holds. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Feedback(message);
}

/** Options of `expectClose`. */
export interface ExpectCloseOptions extends CloseOptions {
  /** The call being checked, shown first, e.g. `maskedSoftmax(scores [2, 3, 5], validLens [2])`. */
  call: string;
  /** What to try when it fails. */
  hint?: string;
}

/** Fails with "call: what differs (hint)" unless `got` is a tensor close to `expected`. */
export function expectClose(
  got: unknown,
  expected: ExpectedTensor,
  opts: ExpectCloseOptions,
): void {
  const mismatch = describeMismatch(got, expected, opts);
  if (mismatch !== null) {
    throw new Feedback(`${opts.call}: ${mismatch}${opts.hint ? `. Hint: ${opts.hint}` : ''}`);
  }
}

/** Describes a tensor argument for feedback: `name [2, 3, 5]`. */
export function arg(name: string, x: tf.Tensor): string {
  return `${name} ${formatShape(x.shape)}`;
}

/** The outcome of one graded test. */
export interface TestResult {
  name: string;
  points: number;
  earned: number;
  passed: boolean;
  /** Empty when passed; otherwise what went wrong, for the learner. */
  feedback: string;
}

/** The outcome of one exercise. */
export interface ExerciseResult {
  chapter: string;
  exercise: string;
  title: string;
  earned: number;
  possible: number;
  tests: TestResult[];
}

function explain(error: unknown): string {
  if (error instanceof Feedback) return error.message;
  if (error instanceof NotImplementedError) return `not implemented yet (${error.file})`;
  if (error instanceof Error) return `your code threw ${error.name}: ${error.message}`;
  return `your code threw ${String(error)}`;
}

/** Loads `<answersRoot>/<chapter>/<file>`; an error loading it fails every test with its message. */
function loadAnswers(spec: ExerciseSpec, answersRoot: string): LoadedAnswers {
  const file = path.resolve(answersRoot, spec.chapter, spec.file);
  if (!fs.existsSync(file))
    return { error: `missing answer file ${path.relative(process.cwd(), file)}` };
  try {
    return { module: require(file) };
  } catch (error) {
    return { error: `could not load ${spec.chapter}/${spec.file}: ${explain(error)}` };
  }
}

/** What a graded test is run against: the answer module, or why there is none. */
export type LoadedAnswers = { module: unknown } | { error: string };

/**
 * Runs every graded test of `spec` against `loaded`, each inside `tf.tidy`. `gate`, asked before
 * each test, may return why the test is not run (a used-up time limit); it then fails with that.
 */
export function runGradedTests(
  spec: ExerciseSpec,
  loaded: LoadedAnswers,
  gate: () => string | undefined = () => undefined,
): ExerciseResult {
  const tests: TestResult[] = [];
  for (const test of spec.tests) {
    let feedback = 'error' in loaded ? loaded.error : (gate() ?? '');
    if (feedback === '' && 'module' in loaded) {
      try {
        tf.tidy(() => test.run(loaded.module));
      } catch (error) {
        feedback = explain(error);
      }
    }
    const passed = feedback === '';
    // Feedback quotes what the answer threw or returned: inert before any report shows it.
    feedback = inert(feedback);
    tests.push({
      name: test.name,
      points: test.points,
      earned: passed ? test.points : 0,
      passed,
      feedback,
    });
  }
  const possible = tests.reduce((s, t) => s + t.points, 0);
  const earned = tests.reduce((s, t) => s + t.earned, 0);
  return {
    chapter: spec.chapter,
    exercise: spec.exercise,
    title: spec.title,
    earned,
    possible,
    tests,
  };
}

/**
 * Runs every graded test of `spec` against the answers in `answersRoot` IN THIS PROCESS: the
 * answer can patch anything the checks use. Only for the course's own tests of its specs and
 * reference answers; everything a learner or instructor runs goes through `grade.ts` (sandboxed).
 */
export function gradeExercise(spec: ExerciseSpec, answersRoot: string): ExerciseResult {
  return runGradedTests(spec, loadAnswers(spec, answersRoot));
}

const STUBS = path.resolve(__dirname, '..', '..', 'exercises');

/** `spec.number`, or the `Exercise NN.M:` of its stub's doc comment, or undefined. */
export function exerciseNumber(spec: ExerciseSpec, stubsRoot = STUBS): string | undefined {
  if (spec.number !== undefined) return spec.number;
  try {
    const head = fs
      .readFileSync(path.join(stubsRoot, spec.chapter, spec.file), 'utf8')
      .slice(0, 2000);
    return /Exercise (\d+\.\d+)\b/.exec(head)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * `specs` in the notebooks' order: by chapter, then by exercise number (`exerciseNumber`,
 * compared as numbers: 00.2 before 00.10), then those without a number, by exercise id.
 */
export function notebookOrder(specs: ExerciseSpec[], stubsRoot = STUBS): ExerciseSpec[] {
  const key = (s: ExerciseSpec) => {
    const n = exerciseNumber(s, stubsRoot);
    return n === undefined ? [Infinity, Infinity] : n.split('.').map(Number);
  };
  return specs
    .map((s) => ({ s, k: key(s) }))
    .sort(
      (a, b) =>
        a.s.chapter.localeCompare(b.s.chapter) ||
        a.k[0] - b.k[0] ||
        a.k[1] - b.k[1] ||
        a.s.exercise.localeCompare(b.s.exercise),
    )
    .map((x) => x.s);
}

/**
 * Every `ExerciseSpec` exported by the `.ts` files under `gradedRoot/<chapter>/`, in the
 * notebooks' order (`notebookOrder`).
 */
export function loadSpecs(gradedRoot: string): ExerciseSpec[] {
  if (!fs.existsSync(gradedRoot) || !fs.statSync(gradedRoot).isDirectory()) {
    throw new Error(
      `loadSpecs: expected a folder of graded tests (NN-slug/*.ts), got ${gradedRoot}`,
    );
  }
  const specs: ExerciseSpec[] = [];
  for (const chapter of fs.readdirSync(gradedRoot).sort()) {
    const dir = path.join(gradedRoot, chapter);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const file of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .sort()) {
      const mod = require(path.resolve(dir, file)) as Record<string, unknown>;
      for (const value of Object.values(mod)) {
        if (value && typeof value === 'object' && 'tests' in value && 'exercise' in value)
          specs.push(value as ExerciseSpec);
      }
    }
  }
  return notebookOrder(specs);
}
