/**
 * Graded tests of exercise 01.3 (the leave-one-out loss). Oracles: the course library's
 * `leaveOneOutLoss` on seeded random data, a hand computation on three points, and the closed
 * form "each point predicted by its nearest neighbour" for a tiny width.
 */
import * as tf from '@tensorflow/tfjs';
import { leaveOneOutLoss as reference } from '../../src/attention/kernel-regression';
import { createRng } from '../../src/core/random';
import { formatShape } from '../../src/core/shapes';
import { check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/01-attention-pooling/leave-one-out';

const list = (t: tf.Tensor) =>
  `[${Array.from(t.dataSync())
    .map((v) => Number(v.toPrecision(4)))
    .join(', ')}]`;

const call = (keys: tf.Tensor, values: tf.Tensor, width: number) =>
  `leaveOneOutLoss(keys ${list(keys)}, values ${list(values)}, width ${width})`;

/** Seeded keys [K] in [0, 5] and values around 2 sin x + x. */
function sample(seed: number, k: number) {
  const rng = createRng(seed);
  const xs = Array.from({ length: k }, () => rng.uniform() * 5);
  return {
    keys: tf.tensor1d(xs),
    values: tf.tensor1d(xs.map((x) => 2 * Math.sin(x) + x + rng.normal() * 0.5)),
  };
}

/** Runs the answer and checks it returned a scalar tensor. */
function loss(
  answer: typeof Answers.leaveOneOutLoss,
  keys: tf.Tensor1D,
  values: tf.Tensor1D,
  width: number,
): tf.Tensor {
  const got = answer(keys, values, width);
  check(
    got instanceof tf.Tensor,
    `${call(keys, values, width)}: expected a tf.Tensor, got ${typeof got}`,
  );
  check(
    got.rank === 0,
    `${call(keys, values, width)}: returned shape ${formatShape(got.shape)}, expected a scalar []. ` +
      'Hint: average the squared errors with tf.mean (no axis).',
  );
  return got;
}

export const leaveOneOutSpec = defineExercise<typeof Answers>({
  chapter: '01-attention-pooling',
  exercise: 'leave-one-out',
  // The library's own implementation is withheld while this is graded (issue 12).
  reimplements: ['leaveOneOutLoss', 'leaveOneOutLossAtLogWidth'],
  file: 'leave-one-out.ts',
  title: 'Leave-one-out loss',
  tests: [
    {
      name: 'returns a scalar: 0 for equal values, else positive and width-dependent',
      points: 1,
      run({ leaveOneOutLoss }) {
        const { keys, values } = sample(11, 4);
        const flat = tf.fill([4], 2.5) as tf.Tensor1D;
        const zero = loss(leaveOneOutLoss, keys, flat, 0.8).dataSync()[0];
        check(
          Math.abs(zero) <= 1e-5,
          `${call(keys, flat, 0.8)}: returned ${zero}, expected 0: when every value is 2.5 every ` +
            'prediction is 2.5 and every error is 0',
        );
        const [narrow, wide] = [0.3, 3].map(
          (h) => loss(leaveOneOutLoss, keys, values, h).dataSync()[0],
        );
        check(
          narrow > 0 && wide > 0 && Math.abs(narrow - wide) > 1e-4,
          `leaveOneOutLoss on keys ${list(keys)}, values ${list(values)} gave ${narrow} at width ` +
            `0.3 and ${wide} at width 3, expected two different positive losses: the width sets ` +
            'how far each prediction looks (weights exp(-((x_i - x_j) / h)^2 / 2))',
        );
      },
    },
    {
      name: 'matches a hand computation on three points',
      points: 1,
      run({ leaveOneOutLoss }) {
        // x = [0, 1, 3], y = [1, 4, 3], h = 1. Point i is predicted from the other two with
        // weights proportional to exp(-d^2 / 2).
        const x = [0, 1, 3];
        const y = [1, 4, 3];
        let total = 0;
        for (let i = 0; i < 3; i++) {
          const others = [0, 1, 2].filter((j) => j !== i);
          const w = others.map((j) => Math.exp(-((x[i] - x[j]) ** 2) / 2));
          const f = (w[0] * y[others[0]] + w[1] * y[others[1]]) / (w[0] + w[1]);
          total += (y[i] - f) ** 2;
        }
        const keys = tf.tensor1d(x);
        const values = tf.tensor1d(y);
        expectClose(loss(leaveOneOutLoss, keys, values, 1), total / 3, {
          call: call(keys, values, 1),
          atol: 1e-5,
          rtol: 1e-5,
          checkDtype: false,
          hint:
            'predict y_i from the OTHER points only (weight 0 on key i), then average the ' +
            'squared errors over the K points',
        });
      },
    },
    {
      name: 'matches the library on random data at several widths',
      points: 2,
      run({ leaveOneOutLoss }) {
        for (const [seed, k, h] of [
          [21, 6, 0.5],
          [22, 10, 1.2],
          [23, 25, 0.3],
          [24, 2, 2],
        ] as const) {
          const { keys, values } = sample(seed, k);
          expectClose(
            loss(leaveOneOutLoss, keys, values, h),
            reference(keys, values, { kernel: 'gaussian', width: h }),
            {
              call: call(keys, values, h),
              atol: 1e-5,
              rtol: 1e-5,
              checkDtype: false,
              hint: 'Gaussian weights exp(-((x_i - x_j) / h)^2 / 2) over j != i, normalised; then the mean squared error',
            },
          );
        }
      },
    },
    {
      name: 'leaves each point out, also for a tiny width (nearest neighbour, no NaN)',
      points: 1,
      run({ leaveOneOutLoss }) {
        // With h = 0.001 all weight goes to the nearest other key: 0 <- 1, 1 <- 0, 2.5 <- 1,
        // 4.5 <- 2.5, 7 <- 4.5.
        const x = [0, 1, 2.5, 4.5, 7];
        const y = [1, -2, 3, 0.5, 4];
        const nearest = [1, 0, 1, 2, 3];
        const expected = y.reduce((s, v, i) => s + (v - y[nearest[i]]) ** 2, 0) / y.length;
        const keys = tf.tensor1d(x);
        const values = tf.tensor1d(y);
        expectClose(loss(leaveOneOutLoss, keys, values, 0.001), expected, {
          call: call(keys, values, 0.001),
          atol: 1e-4,
          rtol: 1e-5,
          checkDtype: false,
          hint:
            `expected ${expected}: each point predicted by its nearest neighbour. A loss near 0 ` +
            'means point i still sees itself (mask the diagonal); NaN means 0 / 0 (use tf.softmax ' +
            'on the masked scores instead of dividing exp() by its sum)',
        });
      },
    },
  ],
});
