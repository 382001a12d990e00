/**
 * Graded tests of exercise 00.2 (the entropy of attention weights). Oracles: closed forms
 * (`ln S` for uniform weights, 0 for one-hot, `ln 2` for two equal weights and a zero) and the
 * course library's `attentionEntropy` on seeded random weights.
 */
import * as tf from '@tensorflow/tfjs';
import { attentionEntropy as reference } from '../../src/attention/selection';
import { arg, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/00-minds-and-machines/entropy';

const call = (w: tf.Tensor) => `attentionEntropy(${arg('weights', w)})`;

export const entropySpec = defineExercise<typeof Answers>({
  chapter: '00-minds-and-machines',
  exercise: 'entropy',
  // The library's own implementation is withheld while this is graded (issue 12).
  reimplements: ['attentionEntropy'],
  file: 'entropy.ts',
  title: 'Entropy of attention weights',
  tests: [
    {
      name: 'gives ln S for uniform weights and 1.5 ln 2 for [0.5, 0.25, 0.25]',
      points: 1,
      run({ attentionEntropy }) {
        for (const s of [1, 2, 7]) {
          const w = tf.fill([s], 1 / s);
          const got = attentionEntropy(w);
          const bits =
            s > 1 && got instanceof tf.Tensor && Math.abs(got.dataSync()[0] - Math.log2(s)) < 1e-4;
          expectClose(got, Math.log(s), {
            call: `${call(w)} with every weight 1/${s}`,
            atol: 1e-5,
            hint: bits
              ? `you got log2(${s}) = ${Math.log2(s)}, the entropy in bits: use the natural log tf.log`
              : 'H = -sum w ln w with the natural log; a [S] input gives a scalar (sum over the last axis)',
          });
        }
        // A row that is not uniform, by hand: -(0.5 ln 0.5 + 2 * 0.25 ln 0.25) = 1.5 ln 2.
        const row = tf.tensor1d([0.5, 0.25, 0.25]);
        const got = attentionEntropy(row);
        const bits = got instanceof tf.Tensor && Math.abs(got.dataSync()[0] - 1.5) < 1e-4;
        expectClose(got, 1.5 * Math.LN2, {
          call: `${call(row)} with weights [0.5, 0.25, 0.25]`,
          atol: 1e-5,
          hint: bits
            ? 'you got 1.5, the entropy in bits (log base 2): use the natural log tf.log'
            : 'H = -(0.5 ln 0.5 + 0.25 ln 0.25 + 0.25 ln 0.25) = 1.5 ln 2: each weight counts by its own w ln w',
        });
        const rows = tf.fill([3, 4], 0.25);
        expectClose(attentionEntropy(rows), [Math.log(4), Math.log(4), Math.log(4)], {
          call: `${call(rows)} with every weight 1/4`,
          atol: 1e-5,
          hint: 'sum over the last axis only: [B, S] gives [B]',
        });
      },
    },
    {
      name: 'gives 0 (not NaN) for one-hot weights, and zero weights add nothing',
      points: 1,
      run({ attentionEntropy }) {
        const oneHot = tf.tensor2d([
          [0, 1, 0],
          [1, 0, 0],
        ]);
        expectClose(attentionEntropy(oneHot), [0, 0], {
          call: `${call(oneHot)} with one-hot rows`,
          atol: 1e-6,
          hint: 'ln 0 = -Infinity and 0 * -Infinity = NaN: replace zero weights by 1 before the log (ln 1 = 0)',
        });
        const half = tf.tensor1d([0.5, 0.5, 0]);
        expectClose(attentionEntropy(half), Math.LN2, {
          call: `${call(half)} with weights [0.5, 0.5, 0]`,
          atol: 1e-6,
          hint: 'by convention 0 ln 0 = 0',
        });
      },
    },
    {
      name: 'matches -sum w ln w on random weights [B, T, S], some of them 0',
      points: 2,
      run({ attentionEntropy }) {
        for (const [seed, shape] of [
          [1, [2, 3, 5]],
          [2, [1, 4, 9]],
        ] as const) {
          const logits = tf.randomNormal([...shape], 0, 2, 'float32', seed);
          // Zero out about a third of the weights and renormalise: real masked attention has zeros.
          const keep = tf.greater(tf.randomUniform([...shape], 0, 1, 'float32', seed + 10), 0.33);
          const raw = tf.mul(tf.exp(logits), tf.cast(keep, 'float32'));
          const w = tf.divNoNan(raw, tf.sum(raw, -1, true));
          expectClose(attentionEntropy(w), reference(w), {
            call: call(w),
            atol: 1e-5,
            hint: 'zero weights add 0 (0 ln 0 = 0, not NaN), and the sum runs over the last axis only: [B, T, S] gives [B, T]',
          });
        }
      },
    },
  ],
});
