/**
 * Graded tests of exercise 00.3 (hard and soft selection). Oracles: the course library's
 * `hardSelection` and `softSelection` on seeded random scores and values, and hand-made ties.
 */
import * as tf from '@tensorflow/tfjs';
import { hardSelection, softSelection } from '../../src/attention/selection';
import { diagnoseWeights } from '../../src/course/exercise';
import { arg, defineExercise, expectClose, Feedback } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/00-minds-and-machines/hard-vs-soft';

type Select = typeof Answers.hardSelect;

/** Seeded scores `[B, S]` (N(0, 1) times `scale`, plus `offset`) and values `[B, S, D]`. */
function sample(seed: number, [b, s, d]: [number, number, number], scale = 1, offset = 0) {
  const normal = tf.randomNormal([b, s], 0, 1, 'float32', seed);
  const scores = tf.add(tf.mul(normal, scale), offset) as tf.Tensor2D;
  const values = tf.randomNormal([b, s, d], 0, 1, 'float32', seed + 100) as tf.Tensor3D;
  return { scores, values };
}

/** Calls `fn` and checks that it returned `{ weights, output }`. */
function run(fn: Select, name: string, x: ReturnType<typeof sample>) {
  const c = `${name}(${arg('scores', x.scores)}, ${arg('values', x.values)})`;
  const got: unknown = fn(x.scores, x.values);
  if (got === null || typeof got !== 'object' || !('weights' in got) || !('output' in got)) {
    throw new Feedback(`${c}: expected an object { weights, output }, got ${typeof got}`);
  }
  return { call: c, got: got as { weights: tf.Tensor; output: tf.Tensor } };
}

export const hardVsSoftSpec = defineExercise<typeof Answers>({
  chapter: '00-minds-and-machines',
  exercise: 'hard-vs-soft',
  // The library's own implementation is withheld while this is graded (issue 12).
  reimplements: ['hardSelection', 'softSelection'],
  file: 'hard-vs-soft.ts',
  title: 'Hard and soft selection',
  tests: [
    {
      name: 'hardSelect: one-hot weights at the highest score',
      points: 1,
      run({ hardSelect }) {
        for (const [seed, shape] of [
          [1, [3, 5, 4]],
          [2, [2, 7, 1]],
        ] as const) {
          const x = sample(seed, [...shape]);
          const { call, got } = run(hardSelect, 'hardSelect', x);
          expectClose(got.weights, hardSelection(x.scores, x.values).weights, {
            call: `${call}.weights`,
            hint: 'tf.oneHot(tf.argMax(scores, -1), S) gives int32: convert it with .toFloat()',
          });
        }
      },
    },
    {
      name: 'hardSelect: the output is the value of the chosen item',
      points: 1,
      run({ hardSelect }) {
        const x = sample(3, [4, 6, 3]);
        const { call, got } = run(hardSelect, 'hardSelect', x);
        expectClose(got.output, hardSelection(x.scores, x.values).output, {
          call: `${call}.output`,
          hint: 'output [B, D] is row argmax of each values[b]: weights [B, 1, S] x values [B, S, D]',
        });
      },
    },
    {
      name: 'hardSelect: picks the first of tied items',
      points: 1,
      run({ hardSelect }) {
        const x = {
          scores: tf.tensor2d([
            [2, 5, 5, 1],
            [0, 0, 0, 0],
          ]),
          values: tf.tensor3d([
            [[1], [2], [3], [4]],
            [[5], [6], [7], [8]],
          ]),
        };
        const { call, got } = run(hardSelect, 'hardSelect', x);
        expectClose(
          got.weights,
          [
            [0, 1, 0, 0],
            [1, 0, 0, 0],
          ],
          {
            call: `${call}.weights with scores [[2, 5, 5, 1], [0, 0, 0, 0]]`,
            hint: 'on a tie keep the first maximum (tf.argMax does)',
          },
        );
      },
    },
    {
      name: 'softSelect: softmax weights and the weighted average of the values',
      points: 2,
      run({ softSelect }) {
        for (const [seed, shape] of [
          [4, [3, 5, 4]],
          [5, [1, 8, 2]],
        ] as const) {
          const x = sample(seed, [...shape]);
          const { call, got } = run(softSelect, 'softSelect', x);
          const expected = softSelection(x.scores, x.values);
          const diagnosis = diagnoseWeights(got.weights, expected.weights, {
            over: 'items',
            mistakes: [
              {
                result: () => hardSelection(x.scores, x.values).weights,
                message:
                  'your weights are one-hot (hard selection): soft selection keeps every item, weighted by tf.softmax(scores)',
              },
            ],
          });
          expectClose(got.weights, expected.weights, {
            call: `${call}.weights`,
            hint: diagnosis ?? 'softmax over the last axis of scores',
          });
          expectClose(got.output, expected.output, {
            call: `${call}.output`,
            hint: 'output_b = sum_s w_bs values[b, s], shape [B, D]',
          });
        }
      },
    },
    {
      name: 'softSelect: is stable for large scores',
      points: 1,
      run({ softSelect }) {
        // 1000 + N(0, 1): exp overflows, yet the weights are far from one-hot (argmax cannot pass).
        const x = sample(6, [2, 5, 3], 1, 1000);
        const { call, got } = run(softSelect, 'softSelect', x);
        const expected = softSelection(x.scores, x.values);
        const diagnosis = diagnoseWeights(got.weights, expected.weights, {
          over: 'items',
          nonFinite:
            'exp(1000) overflows to Infinity, and Infinity / Infinity = NaN: use tf.softmax, or ' +
            'subtract the row maximum before tf.exp',
        });
        expectClose(got.output, expected.output, {
          call: `${call} with scores 1000 + N(0, 1)`,
          atol: 1e-4,
          hint:
            diagnosis ??
            'adding the same number to every score of a row does not change its softmax weights',
        });
      },
    },
  ],
});
