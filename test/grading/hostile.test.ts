/**
 * Hostile and broken submissions (test/fixtures/grading/submissions/, reasoning in its README):
 * each is graded to the exact score worked out by hand, per exercise and for the hidden tests,
 * next to correct answers that must keep their full marks. Nothing may hang or crash the grader,
 * write to the submission or the instructor's files, or let a secret into the report.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gradeSubmission } from '../../tools/grading/grade';
import type { SandboxLimits } from '../../tools/grading/sandbox';
import { assembleCase, HIDDEN, ROOT, TEST_LIMITS, treeHash } from '../helpers/grading';

/** Text that only the reference solution and the hidden tests contain. */
const SECRETS = [
  'Subtracting the row maximum makes the largest exponent 0',
  'HIDDEN-TEST-SOURCE-MARKER-5d1c',
];

type Exercise = 'softmax-temperature' | 'entropy' | 'hard-vs-soft';
const FULL: Record<Exercise, number> = { 'softmax-temperature': 5, entropy: 4, 'hard-vs-soft': 6 };
const HIDDEN_FULL = 3;

interface Case {
  name: string;
  /** The exercise the case breaks; the other two keep full marks. */
  broken: Exercise;
  /** Points expected for the broken exercise, and for the hidden tests (of softmax-temperature). */
  earned: number;
  hidden?: number;
  /** What the feedback of a failed test of the broken exercise must say. */
  says?: RegExp;
  limits?: Partial<SandboxLimits>;
}

const CASES: Case[] = [
  { name: 'correct', broken: 'entropy', earned: 4 },
  {
    name: 'loop-at-import',
    broken: 'entropy',
    earned: 0,
    says: /while loading .*timed out after 2 s \(an infinite loop\?\)/,
  },
  {
    name: 'loop-in-call',
    broken: 'hard-vs-soft',
    earned: 3,
    says: /hardSelect\(\.\.\.\): your code timed out after 2 s/,
  },
  {
    name: 'throw-at-import',
    broken: 'softmax-temperature',
    earned: 0,
    hidden: 0,
    says: /could not load .*threw Error: boom at import/,
  },
  {
    name: 'exit-at-import',
    broken: 'entropy',
    earned: 0,
    says: /while loading .*stopped the process \(exit code 0\)/,
  },
  {
    name: 'exit-in-call',
    broken: 'hard-vs-soft',
    earned: 3,
    says: /softSelect\(\.\.\.\): your code stopped the process \(exit code 0\)/,
  },
  {
    name: 'fake-output',
    broken: 'softmax-temperature',
    earned: 0,
    hidden: 0,
    says: /values differ/,
  },
  { name: 'patch-math', broken: 'entropy', earned: 0, says: /got 0, expected 0\.693/ },
  { name: 'patch-array-prototype', broken: 'hard-vs-soft', earned: 0, says: /values differ/ },
  {
    name: 'patch-tf',
    broken: 'softmax-temperature',
    earned: 0,
    hidden: 0,
    says: /got 0, expected/,
  },
  { name: 'patch-mocha', broken: 'entropy', earned: 0, says: /values differ/ },
  {
    name: 'edit-tests',
    broken: 'softmax-temperature',
    earned: 0,
    hidden: 0,
    says: /got 0\.2\d*, expected/,
  },
  {
    name: 'read-secrets',
    broken: 'softmax-temperature',
    earned: 0,
    hidden: 0,
    says: /read: nothing readable \(.*ERR_ACCESS_DENIED/,
  },
  {
    name: 'huge-memory',
    broken: 'hard-vs-soft',
    earned: 0,
    says: /ran out of memory \(the limit is 128 MB\)|used more than 400 MB/,
  },
  { name: 'wrong-shape', broken: 'entropy', earned: 0, says: /shape \[1\] != expected \[\]/ },
  {
    name: 'wrong-dtype',
    broken: 'hard-vs-soft',
    earned: 5,
    says: /dtype int32 != expected float32/,
  },
  { name: 'nan', broken: 'softmax-temperature', earned: 3, hidden: 1, says: /got NaN/ },
  {
    name: 'syntax-error',
    broken: 'hard-vs-soft',
    earned: 0,
    says: /does not compile.*\n.*hard-vs-soft\.ts:\d+:\d+: '\)' expected/,
  },
  {
    name: 'type-error',
    broken: 'entropy',
    earned: 0,
    says: /entropy\.ts:5:9: Type 'string' is not assignable to type 'number'/,
  },
  {
    name: 'missing-export',
    broken: 'hard-vs-soft',
    earned: 0,
    says: /Property 'softSelect' is missing/,
  },
  // Slow but correct, under the default limits: the time limits are not too tight.
  { name: 'slow-correct', broken: 'softmax-temperature', earned: 5, limits: {} },
];

describe('grading hostile and broken submissions (sandboxed)', function () {
  this.timeout(120_000);
  const instructor = ['graded', 'solutions', 'exercises', 'test/fixtures/grading/hidden'].map((d) =>
    path.join(ROOT, d),
  );
  const before = instructor.map(treeHash);

  after(() => {
    assert.deepEqual(
      instructor.map(treeHash),
      before,
      'a submission changed graded/, solutions/, exercises/ or the hidden tests',
    );
  });

  it('has a fixture folder for every case and a case for every fixture folder', () => {
    const folders = fs.readdirSync(path.join(ROOT, 'test/fixtures/grading/submissions'), {
      withFileTypes: true,
    });
    assert.deepEqual(
      folders
        .filter((f) => f.isDirectory())
        .map((f) => f.name)
        .sort(),
      CASES.map((c) => c.name).sort(),
    );
  });

  for (const c of CASES) {
    it(`${c.name}: ${c.broken} earns ${c.earned}/${FULL[c.broken]}, the correct files full marks`, () => {
      const dir = assembleCase(c.name);
      const hash = treeHash(dir);
      const report = gradeSubmission({
        answers: dir,
        chapter: '00',
        hidden: HIDDEN,
        limits: c.limits ?? TEST_LIMITS,
      });
      const earned = Object.fromEntries(report.exercises.map((e) => [e.exercise, e.earned]));
      assert.deepEqual(earned, { ...FULL, [c.broken]: c.earned });
      assert.deepEqual(
        report.hidden.map((e) => [e.exercise, e.earned]),
        [['softmax-temperature', c.hidden ?? HIDDEN_FULL]],
      );
      if (c.says) {
        const failed = [...report.exercises, ...report.hidden]
          .filter((e) => e.exercise === c.broken)
          .flatMap((e) => e.tests.filter((t) => !t.passed));
        assert.ok(failed.length > 0);
        assert.match(failed[0].feedback, c.says);
      }
      const text = JSON.stringify(report);
      for (const secret of SECRETS)
        assert.ok(!text.includes(secret), `the report contains "${secret}"`);
      assert.equal(treeHash(dir), hash, 'the submission folder was modified');
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
});

describe('the time limit of a whole submission', function () {
  this.timeout(120_000);

  it('stops grading when it is used up, failing the tests not run, and returns soon after', () => {
    const dir = assembleCase('loop-in-call');
    // Exercises are graded in the notebooks' order (00.1 softmax-temperature first), so the
    // first one loops too: the 4 s are spent there and entropy and hard-vs-soft are never run.
    fs.writeFileSync(
      path.join(dir, '00-minds-and-machines', 'softmax-temperature.ts'),
      `import * as tf from '@tensorflow/tfjs';
export function softmaxWithTemperature(scores: tf.Tensor, temperature: number): tf.Tensor {
  let n = 0;
  for (;;) n = (n + scores.rank + temperature) % 7;
}
`,
    );
    const started = Date.now();
    const report = gradeSubmission({
      answers: dir,
      chapter: '00',
      limits: TEST_LIMITS,
      submissionMs: 4000,
    });
    const seconds = (Date.now() - started) / 1000;
    fs.rmSync(dir, { recursive: true, force: true });
    // Grading ends within the limit plus one call limit (2 s) and the last sandbox's start
    // (slack 3 s).
    assert.ok(seconds < 4 + 2 + 3, `took ${seconds} s`);
    const byName = Object.fromEntries(report.exercises.map((e) => [e.exercise, e]));
    assert.equal(byName['softmax-temperature'].earned, 0);
    const notRun = /^not run: the time limit for the whole submission \(4 s\) was used up/;
    for (const name of ['entropy', 'hard-vs-soft']) {
      const tests = byName[name].tests;
      assert.equal(byName[name].earned, 0, name);
      assert.deepEqual(
        tests.filter((t) => !notRun.test(t.feedback)).map((t) => `${t.name}: ${t.feedback}`),
        [],
        `${name}: every test is reported as not run`,
      );
    }
  });
});

describe('the same hostile answers graded in-process (the old way)', function () {
  this.timeout(120_000);
  // Each runs in a child process: the answer patches globals of whatever process loads it.
  const inProcess = (name: string, exercise: Exercise) => {
    const dir = assembleCase(name, path.join(ROOT, 'build', 'grading-tests', `in-process-${name}`));
    const script = `
      const path = require('node:path');
      const { initBackend } = require(${JSON.stringify(path.join(ROOT, 'src/backend/backend.ts'))});
      const { gradeExercise, loadSpecs } = require(${JSON.stringify(path.join(ROOT, 'tools/grading/framework.ts'))});
      initBackend({ log: false }).then(() => {
        const spec = loadSpecs(${JSON.stringify(path.join(ROOT, 'graded'))}).find((s) => s.exercise === ${JSON.stringify(exercise)});
        process.stdout.write(JSON.stringify(gradeExercise(spec, ${JSON.stringify(dir)})));
      });`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as { earned: number; possible: number };
  };

  it('patch-math fools them: all-zero entropies earn 4/4 in-process (0/4 sandboxed)', () => {
    const result = inProcess('patch-math', 'entropy');
    assert.equal(result.earned, 4);
    assert.equal(result.possible, 4);
  });

  it('patch-tf fools them: all-zero weights earn 4/5 in-process (0/5 sandboxed)', () => {
    const result = inProcess('patch-tf', 'softmax-temperature');
    assert.equal(result.earned, 4);
    assert.equal(result.possible, 5);
  });
});
