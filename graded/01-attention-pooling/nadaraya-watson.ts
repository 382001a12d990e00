/**
 * Graded tests of exercise 01.2 (Nadaraya-Watson pooling with a Gaussian kernel). The oracle is
 * the course library's `nadarayaWatson` (itself tested against PyTorch) and, for a huge width,
 * the closed form "mean of the values", on seeded random data and the chapter's data set.
 */
import * as tf from '@tensorflow/tfjs';
import { nadarayaWatson as reference } from '../../src/attention/kernel-regression';
import { regressionArrays } from '../../src/data/regression';
import { createRng } from '../../src/core/random';
import { formatShape } from '../../src/core/shapes';
import { arg, check, defineExercise, expectClose, Feedback } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/01-attention-pooling/nadaraya-watson';

interface Sample {
  queries: tf.Tensor1D;
  keys: tf.Tensor1D;
  values: tf.Tensor1D;
  width: number;
}

/** Seeded queries [Q] and keys [K] in [0, 5], values around 2 sin x + x. */
function sample(seed: number, q: number, k: number, width: number): Sample {
  const rng = createRng(seed);
  const xs = (n: number) => Array.from({ length: n }, () => rng.uniform() * 5);
  const keys = xs(k);
  return {
    queries: tf.tensor1d(xs(q)),
    keys: tf.tensor1d(keys),
    values: tf.tensor1d(keys.map((x) => 2 * Math.sin(x) + x + rng.normal() * 0.5)),
    width,
  };
}

/** The chapter's data: test grid as queries, training points as keys and values. */
function chapterData(width: number): Sample {
  const d = regressionArrays({ seed: 1, numTrain: 30, numTest: 20 });
  return {
    queries: tf.tensor1d(d.xTest),
    keys: tf.tensor1d(d.xTrain),
    values: tf.tensor1d(d.yTrain),
    width,
  };
}

const call = (x: Sample) =>
  `nadarayaWatson(${arg('queries', x.queries)}, ${arg('keys', x.keys)}, ${arg('values', x.values)}, width ${x.width})`;

/** Runs the answer and checks it returned `{ weights [Q, K], predictions [Q] }` tensors. */
function run(answer: typeof Answers.nadarayaWatson, x: Sample) {
  const got = answer(x.queries, x.keys, x.values, x.width);
  if (got === null || typeof got !== 'object') {
    throw new Feedback(
      `${call(x)}: expected an object { weights, predictions }, got ${String(got)}`,
    );
  }
  const [Q, K] = [x.queries.shape[0], x.keys.shape[0]];
  for (const [name, expected] of [
    ['weights', [Q, K]],
    ['predictions', [Q]],
  ] as const) {
    const t = (got as Record<string, unknown>)[name];
    check(t instanceof tf.Tensor, `${call(x)}: ${name} should be a tf.Tensor, got ${typeof t}`);
    const shape: number[] = t.shape;
    check(
      shape.length === expected.length && shape.every((d, i) => d === expected[i]),
      `${call(x)}: ${name} has shape ${formatShape(shape)}, expected ${formatShape([...expected])} ` +
        `(${name === 'weights' ? 'one row per query, one column per key' : 'one prediction per query'})`,
    );
  }
  return got;
}

function agrees(answer: typeof Answers.nadarayaWatson, x: Sample, hint: string, atol = 1e-5) {
  const got = run(answer, x);
  const expected = reference(x.queries, x.keys, x.values, { kernel: 'gaussian', width: x.width });
  expectClose(got.weights, expected.weights, {
    call: `${call(x)}.weights`,
    atol,
    checkDtype: false,
    hint,
  });
  expectClose(got.predictions, expected.predictions, {
    call: `${call(x)}.predictions`,
    atol: atol * 10,
    rtol: 1e-5,
    checkDtype: false,
    hint: 'predictions = weights x values, one weighted average per query',
  });
}

export const nadarayaWatsonSpec = defineExercise<typeof Answers>({
  chapter: '01-attention-pooling',
  exercise: 'nadaraya-watson',
  file: 'nadaraya-watson.ts',
  title: 'Nadaraya-Watson pooling',
  tests: [
    {
      name: 'returns weights [Q, K] and predictions [Q]',
      points: 1,
      run({ nadarayaWatson }) {
        run(nadarayaWatson, sample(11, 3, 5, 0.7));
        run(nadarayaWatson, sample(12, 6, 2, 1.5));
      },
    },
    {
      name: 'weights are the normalised Gaussian kernel (rows sum to 1)',
      points: 2,
      run({ nadarayaWatson }) {
        for (const [seed, q, k, h] of [
          [21, 4, 6, 0.5],
          [22, 7, 3, 1.3],
          [23, 1, 9, 0.2],
        ] as const) {
          agrees(
            nadarayaWatson,
            sample(seed, q, k, h),
            'a[q, k] = exp(-((x_q - x_k) / h)^2 / 2), divided by its row sum (tf.softmax over the keys)',
          );
        }
      },
    },
    {
      name: "predicts the chapter's data like the library does",
      points: 1,
      run({ nadarayaWatson }) {
        for (const h of [0.3, 1]) {
          agrees(nadarayaWatson, chapterData(h), 'check the division by the width h');
        }
      },
    },
    {
      name: 'is stable for a tiny width (no NaN)',
      points: 1,
      run({ nadarayaWatson }) {
        agrees(
          nadarayaWatson,
          sample(31, 5, 8, 0.001),
          'with h = 0.001 exp(-u^2 / 2) underflows to 0 for every key farther than about 0.013, ' +
            'and a row of zeros gives 0 / 0 = NaN; the softmax ' +
            'form tf.softmax(-u^2 / 2) subtracts the row maximum first',
          1e-4,
        );
      },
    },
    {
      name: 'gives the mean of the values for a huge width',
      points: 1,
      run({ nadarayaWatson }) {
        const x = sample(41, 4, 10, 1e5);
        const got = run(nadarayaWatson, x);
        const mean = tf.mean(x.values).dataSync()[0];
        expectClose(got.predictions, tf.fill([4], mean), {
          call: `${call(x)}.predictions`,
          atol: 1e-4,
          checkDtype: false,
          hint: 'with a huge width every key gets the same weight 1/K (average pooling)',
        });
      },
    },
  ],
});
