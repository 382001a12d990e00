/**
 * Graded tests of exercise 00.1 (softmax with a temperature). Oracles: the course library's
 * `softmax(scores, tau)` on seeded random scores of rank 1 to 3, and the closed-form limits
 * (one-hot as tau -> 0, uniform as tau -> infinity).
 */
import * as tf from '@tensorflow/tfjs';
import { softmax as reference } from '../../src/attention/softmax';
import { diagnoseWeights, NotImplementedError } from '../../src/course/exercise';
import { arg, check, defineExercise, expectClose, Feedback } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/00-minds-and-machines/softmax-temperature';

/** Seeded standard-normal scores times `scale`. */
function randomScores(seed: number, shape: number[], scale = 1): tf.Tensor {
  return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
}

const call = (x: tf.Tensor, tau: number) => `softmaxWithTemperature(${arg('scores', x)}, ${tau})`;

const OVERFLOW =
  'exp of a large score overflows to Infinity, and Infinity / Infinity = NaN: subtract each row ' +
  'maximum (tf.max(x, -1, true)) before tf.exp';

/** Fails unless `got` is close to the right weights, naming the mistake the weights show. */
function expectWeights(got: tf.Tensor, x: tf.Tensor, tau: number, what: string, hint: string) {
  const want = reference(x, tau);
  const mistakes = [
    {
      result: () => reference(x, 1),
      message: `your weights ignore the temperature ${tau}: divide the scores by it first`,
    },
    {
      result: () => reference(tf.mul(x, tau), 1),
      message: `your weights match softmax(scores * ${tau}): divide by the temperature, do not multiply`,
    },
  ];
  expectClose(got, want, {
    call: `${call(x, tau)}${what}`,
    atol: 1e-5,
    hint:
      diagnoseWeights(got, want, {
        over: 'scores',
        nonFinite: OVERFLOW,
        mistakes: tau === 1 ? [] : mistakes,
      }) ?? hint,
  });
}

export const softmaxTemperatureSpec = defineExercise<typeof Answers>({
  chapter: '00-minds-and-machines',
  exercise: 'softmax-temperature',
  // The library's own implementation is withheld while this is graded (issue 12).
  reimplements: ['softmax', 'temperatureSweep'],
  file: 'softmax-temperature.ts',
  title: 'Softmax with a temperature',
  tests: [
    {
      name: 'matches softmax(scores / tau) along the last axis, for ranks 1 to 3',
      points: 2,
      run({ softmaxWithTemperature }) {
        const cases: [number, number[], number][] = [
          [1, [5], 1],
          [2, [3, 4], 0.5],
          [3, [2, 3, 6], 2.5],
        ];
        for (const [seed, shape, tau] of cases) {
          const x = randomScores(seed, shape);
          expectWeights(
            softmaxWithTemperature(x, tau),
            x,
            tau,
            '',
            'divide the scores by the temperature, then normalise exp() along the last axis (tf.sum(e, -1, true))',
          );
        }
      },
    },
    {
      name: 'is nearly one-hot at a tiny temperature and nearly uniform at a huge one',
      points: 1,
      run({ softmaxWithTemperature }) {
        const x = tf.tensor1d([1, 3, 2, 0.5]);
        expectClose(softmaxWithTemperature(x, 0.01), [0, 1, 0, 0], {
          call: `${call(x, 0.01)} with scores [1, 3, 2, 0.5]`,
          atol: 1e-4,
          hint: 'as tau -> 0 all the weight goes to the largest score',
        });
        expectClose(softmaxWithTemperature(x, 1e4), [0.25, 0.25, 0.25, 0.25], {
          call: `${call(x, 1e4)} with scores [1, 3, 2, 0.5]`,
          atol: 1e-3,
          hint: 'as tau -> infinity every item gets 1 / S',
        });
      },
    },
    {
      name: 'is stable for large scores and small temperatures (no Infinity, no NaN)',
      points: 1,
      run({ softmaxWithTemperature }) {
        // 1000 + N(0, 1): exp overflows, yet the weights are those of N(0, 1), far from one-hot,
        // so hard selection (argmax) cannot pass for a stable softmax.
        const shifted = tf.add(randomScores(4, [3, 5]), 1000);
        expectWeights(
          softmaxWithTemperature(shifted, 1),
          shifted,
          1,
          ' with scores 1000 + N(0, 1)',
          'adding the same number to every score of a row does not change softmax weights',
        );
        const x = randomScores(5, [3, 5], 1000);
        expectWeights(
          softmaxWithTemperature(x, 0.001),
          x,
          0.001,
          ' with scores of size ~1000',
          'at a tiny temperature nearly all the weight goes to the largest score of each row',
        );
      },
    },
    {
      name: 'throws a RangeError when the temperature is not a finite number > 0',
      points: 1,
      run({ softmaxWithTemperature }) {
        const x = tf.tensor2d([[1, 2, 3]]);
        softmaxWithTemperature(x, 1); // a valid call first: an unwritten stub fails here
        for (const tau of [0, -1, NaN, Infinity, -Infinity]) {
          let threw: unknown = null;
          try {
            softmaxWithTemperature(x, tau);
          } catch (error) {
            if (error instanceof NotImplementedError) throw error;
            threw = error;
          }
          if (threw === null) {
            throw new Feedback(
              `${call(x, tau)}: returned a result, expected a RangeError. Hint: check the temperature first, e.g. if (!(temperature > 0) || !Number.isFinite(temperature)) throw new RangeError(...); Infinity is not a temperature (it would give uniform weights)`,
            );
          }
          check(
            threw instanceof RangeError,
            `${call(x, tau)}: threw ${(threw as Error)?.name ?? String(threw)}, expected a RangeError`,
          );
        }
      },
    },
  ],
});
