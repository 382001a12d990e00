/**
 * Graded tests of exercise 06.3 (the warm-up learning-rate schedule). The references are the
 * library's `warmupInverseSqrt` (tested on its own against PyTorch's optimizer fixtures) and two
 * values worked out by hand: the paper's peak `(512 * 4000)^-0.5 = 6.98771e-4` at step 4000.
 */
import { NotImplementedError } from '../../src/course/exercise';
import { check, defineExercise } from '../../tools/grading/framework';
import { warmupInverseSqrt } from '../../src/train/schedules';
import type * as Answers from '../../exercises/06-transformer/warmup';

const SETTINGS: Array<{ dModel: number; warmup: number; steps: number[] }> = [
  { dModel: 512, warmup: 4000, steps: [1, 2, 100, 3999, 4000, 4001, 10000, 100000] },
  { dModel: 64, warmup: 100, steps: [1, 5, 50, 99, 100, 101, 400, 2500] },
];

/** The schedule with one of the usual mistakes, to recognise it in an answer. */
function variant(step: number, d: number, w: number, mistake: string): number {
  const f = (s: number) => Math.pow(d, -0.5) * Math.min(Math.pow(s, -0.5), s * Math.pow(w, -1.5));
  switch (mistake) {
    case 'step - 1':
      return step > 1 ? f(step - 1) : NaN;
    case 'step + 1':
      return f(step + 1);
    case 'max':
      return Math.pow(d, -0.5) * Math.max(Math.pow(step, -0.5), step * Math.pow(w, -1.5));
    case 'no dModel':
      return Math.min(Math.pow(step, -0.5), step * Math.pow(w, -1.5));
    case 'warmup^-0.5':
      return Math.pow(d, -0.5) * Math.min(Math.pow(step, -0.5), step * Math.pow(w, -0.5));
    default:
      return NaN;
  }
}

const HINTS: Record<string, string> = {
  'step - 1':
    'your values are those of the previous step: step counts updates from 1, and lrate(1) uses step = 1 as it is (do not subtract 1)',
  'step + 1':
    'your values are those of the next step: use step as it is (the first update is step 1)',
  max: 'you take the max of the two terms: the schedule is their MIN (the linear rise wins before warmup, the decay after)',
  'no dModel': 'the rate is missing the factor dModel^-0.5 in front of the min',
  'warmup^-0.5':
    'the warm-up term is step * warmup^-1.5 (exponent -1.5, not -0.5), so that both terms meet at step = warmup',
};

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 + 1e-6 * Math.abs(b);

function callRate(answer: typeof Answers.warmupRate, step: number, d: number, w: number): number {
  const got = answer(step, d, w);
  check(
    typeof got === 'number',
    `warmupRate(${step}, ${d}, ${w}): expected a number, got ${got === null ? 'null' : typeof got}`,
  );
  return got;
}

export const warmupSpec = defineExercise<typeof Answers>({
  chapter: '06-transformer',
  exercise: 'warmup',
  reimplements: ['warmupInverseSqrt'],
  file: 'warmup.ts',
  title: 'The warm-up learning-rate schedule',
  tests: [
    {
      name: 'equals the paper’s rate during warm-up and during the decay (D 512, w 4000; D 64, w 100)',
      points: 2,
      run({ warmupRate }) {
        for (const { dModel, warmup, steps } of SETTINGS) {
          const reference = warmupInverseSqrt({ dModel, warmup });
          for (const step of steps) {
            const got = callRate(warmupRate, step, dModel, warmup);
            const want = reference(step);
            if (close(got, want)) continue;
            const mistake = Object.keys(HINTS).find((m) =>
              close(got, variant(step, dModel, warmup, m)),
            );
            check(
              false,
              `warmupRate(${step}, ${dModel}, ${warmup}): expected ${want.toPrecision(6)}, got ${got}. Hint: ` +
                (mistake
                  ? HINTS[mistake]
                  : 'lrate = dModel^-0.5 * min(step^-0.5, step * warmup^-1.5)'),
            );
          }
        }
      },
    },
    {
      name: 'peaks at step = warmup with (dModel * warmup)^-0.5, rising before and falling after',
      points: 1,
      run({ warmupRate }) {
        const peak = callRate(warmupRate, 4000, 512, 4000);
        check(
          close(peak, 6.98771242e-4),
          `warmupRate(4000, 512, 4000): expected the peak (512 * 4000)^-0.5 = 6.98771e-4, got ${peak}`,
        );
        const before = callRate(warmupRate, 3000, 512, 4000);
        const after = callRate(warmupRate, 5000, 512, 4000);
        check(
          before < peak && after < peak,
          `warmupRate at steps 3000, 4000, 5000 (D 512, w 4000) gave ${before}, ${peak}, ${after}: ` +
            'the rate must rise until step = warmup and fall after it',
        );
      },
    },
    {
      name: 'rejects step 0 with a RangeError that names step',
      points: 1,
      run({ warmupRate }) {
        let error: unknown;
        let value: unknown;
        try {
          value = warmupRate(0, 512, 4000);
        } catch (e) {
          if (e instanceof NotImplementedError) throw e; // reported as "not implemented yet"
          error = e;
        }
        check(
          error instanceof RangeError && /step/.test(error.message),
          `warmupRate(0, 512, 4000): expected a RangeError naming step (updates count from 1), ` +
            (error === undefined ? `got the value ${String(value)}` : `got ${String(error)}`),
        );
      },
    },
  ],
});
