/**
 * Graded tests of exercise 02.1 (masked softmax). The oracle is the course library's
 * `maskedSoftmax`, on seeded random inputs of several shapes.
 */
import * as tf from '@tensorflow/tfjs';
import { maskedSoftmax as reference } from '../../src/attention/softmax';
import { diagnoseWeights } from '../../src/course/exercise';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/02-scoring-functions/masked-softmax';

/**
 * Seeded scores `[B, T, S]` (`scale` times N(0, 1), plus `offset`) and valid lengths `[B]` (one of
 * them 0 when `withEmpty`).
 */
function sample(
  seed: number,
  [b, t, s]: [number, number, number],
  scale = 1,
  withEmpty = false,
  offset = 0,
) {
  const normal = tf.randomNormal([b, t, s], 0, 1, 'float32', seed);
  const scores = tf.add(tf.mul(normal, scale), offset) as tf.Tensor3D;
  const lens = Array.from({ length: b }, (_, i) =>
    withEmpty && i === 0 ? 0 : 1 + ((seed * 7 + i * 3) % s),
  );
  return { scores, validLens: tf.tensor1d(lens, 'int32') };
}

type Sample = ReturnType<typeof sample>;

const call = (x: Sample) =>
  `maskedSoftmax(${arg('scores', x.scores)}, validLens ${JSON.stringify(Array.from(x.validLens.dataSync()))})`;

/**
 * Fails with the call, the difference and a hint unless the answer matches the library's masked
 * softmax. The hint names the mistake the weights show (mask ignored, off by one, rows that do not
 * sum to 1, NaN) and is `hint` only when they show none of them; `nonFinite` is said on NaN or
 * Infinity.
 */
function agreesWithReference(
  answer: typeof Answers.maskedSoftmax,
  x: Sample,
  hint: string,
  nonFinite = 'NaN comes from 0 / 0 or Infinity / Infinity: use tf.softmax on the masked scores',
): tf.Tensor {
  const got = answer(x.scores, x.validLens);
  const expected = reference(x.scores, { validLens: x.validLens });
  const s = x.scores.shape[2];
  const diagnosis = diagnoseWeights(got, expected, {
    nonFinite,
    mistakes: [
      {
        result: () => tf.softmax(x.scores),
        message:
          'your weights ignore validLens: keys at positions >= validLens[b] must get weight 0 ' +
          '(compare tf.range(0, S) with validLens, then tf.where)',
      },
      {
        result: () =>
          reference(x.scores, { validLens: tf.minimum(tf.add(x.validLens, 1), s) as tf.Tensor1D }),
        message:
          'your mask is off by one: key s takes part only when s < validLens[b] (tf.less, not tf.lessEqual)',
      },
    ],
  });
  expectClose(got, expected, { call: call(x), atol: 1e-5, hint: diagnosis ?? hint });
  return got;
}

export const maskedSoftmaxSpec = defineExercise<typeof Answers>({
  chapter: '02-scoring-functions',
  exercise: 'masked-softmax',
  // The library's own implementation is withheld while this is graded (issue 12).
  reimplements: ['maskedSoftmax', 'attentionPooling'],
  file: 'masked-softmax.ts',
  title: 'Masked softmax',
  tests: [
    {
      name: 'matches the reference on random scores',
      points: 2,
      run({ maskedSoftmax }) {
        for (const [seed, shape] of [
          [11, [2, 3, 5]],
          [12, [4, 1, 7]],
          [13, [1, 6, 2]],
        ] as const) {
          const x = sample(seed, [...shape]);
          agreesWithReference(maskedSoftmax, x, 'softmax over the first validLens[b] keys only');
        }
      },
    },
    {
      name: 'gives padded keys exactly zero weight',
      points: 1,
      run({ maskedSoftmax }) {
        const x = sample(21, [3, 2, 6]);
        const values = agreesWithReference(
          maskedSoftmax,
          x,
          'softmax over the first validLens[b] keys only',
        ).arraySync() as number[][][];
        const lens = Array.from(x.validLens.dataSync());
        values.forEach((rows, b) =>
          rows.forEach((row, t) =>
            row.forEach((v, s) => {
              check(
                s < lens[b] || v === 0,
                `${call(x)}: weight [${b}, ${t}, ${s}] is ${v}, but key ${s} >= validLens[${b}] = ${lens[b]} is padding and must be exactly 0`,
              );
            }),
          ),
        );
      },
    },
    {
      name: 'returns zeros, not NaN, for a row with no valid key',
      points: 1,
      run({ maskedSoftmax }) {
        const x = sample(31, [2, 3, 4], 1, true);
        agreesWithReference(
          maskedSoftmax,
          x,
          'validLens[0] = 0, so every row of batch element 0 must be all zeros (not NaN)',
          'validLens[0] = 0, so every row of batch element 0 must be all zeros: the softmax of a ' +
            'row that is all -Infinity is 0 / 0 = NaN (fill with a large finite negative number ' +
            'and multiply the result by the mask)',
        );
      },
    },
    {
      name: 'is stable for large scores',
      points: 1,
      run({ maskedSoftmax }) {
        // 1000 + N(0, 1): exp overflows, yet the weights are far from one-hot (argmax cannot pass).
        const x = sample(41, [2, 2, 5], 1, false, 1000);
        agreesWithReference(
          maskedSoftmax,
          x,
          'adding the same number to every score of a row does not change its softmax weights',
          'exp(1000) overflows to Infinity, and Infinity / Infinity = NaN: subtract the row maximum ' +
            'first (tf.softmax does)',
        );
      },
    },
  ],
});
