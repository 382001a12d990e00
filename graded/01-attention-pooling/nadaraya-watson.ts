/**
 * Graded tests of exercise 01.2 (Nadaraya-Watson pooling with a Gaussian kernel). The oracle is
 * the course library's `nadarayaWatson` (itself tested against PyTorch) and, for a huge width,
 * the closed form "mean of the values", on seeded random data and the chapter's data set.
 */
import * as tf from '@tensorflow/tfjs';
import { nadarayaWatson as reference } from '../../src/attention/kernel-regression';
import { regressionArrays } from '../../src/data/regression';
import { diagnoseWeights } from '../../src/course/exercise';
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

function agrees(
  answer: typeof Answers.nadarayaWatson,
  x: Sample,
  hint: string,
  atol = 1e-5,
  nonFinite = 'NaN comes from 0 / 0: use the softmax form tf.softmax(-u^2 / 2)',
) {
  const got = run(answer, x);
  const expected = reference(x.queries, x.keys, x.values, { kernel: 'gaussian', width: x.width });
  const u = () => tf.sub(x.queries.expandDims(1), x.keys.expandDims(0)); // [Q, K], unscaled
  const h = x.width;
  const diagnosis = diagnoseWeights(got.weights, expected.weights, {
    atol: Math.max(atol, 1e-4),
    nonFinite,
    mistakes: [
      {
        result: () => tf.softmax(tf.mul(tf.square(u()), -0.5)),
        message: `your weights ignore the width h = ${h}: divide the distances x_q - x_k by h`,
      },
      {
        result: () => tf.softmax(tf.mul(tf.square(tf.mul(u(), h)), -0.5)),
        message: `your weights multiply the distances by h = ${h}: divide by it instead`,
      },
      {
        result: () => tf.softmax(tf.neg(tf.square(tf.div(u(), h)))),
        message: 'your weights use exp(-u^2) without the factor 1/2: the Gaussian is exp(-u^2 / 2)',
      },
    ],
  });
  expectClose(got.weights, expected.weights, {
    call: `${call(x)}.weights`,
    atol,
    checkDtype: false,
    hint: diagnosis ?? hint,
  });
  expectClose(got.predictions, expected.predictions, {
    call: `${call(x)}.predictions`,
    atol: atol * 10,
    rtol: 1e-5,
    checkDtype: false,
    hint: 'the weights are right; predictions = weights x values, one weighted average per query',
  });
}

export const nadarayaWatsonSpec = defineExercise<typeof Answers>({
  chapter: '01-attention-pooling',
  exercise: 'nadaraya-watson',
  // The library's own implementation is withheld while this is graded (issue 12).
  reimplements: ['nadarayaWatson', 'attentionPooling'],
  file: 'nadaraya-watson.ts',
  title: 'Nadaraya-Watson pooling',
  tests: [
    {
      name: 'returns weights [Q, K], most on the nearest key, and predictions [Q]',
      points: 1,
      run({ nadarayaWatson }) {
        run(nadarayaWatson, sample(12, 6, 2, 1.5));
        const x = sample(11, 3, 5, 0.7);
        const got = run(nadarayaWatson, x);
        const weights = got.weights.arraySync() as number[][];
        const queries = Array.from(x.queries.dataSync());
        const keys = Array.from(x.keys.dataSync());
        weights.forEach((row, q) => {
          const sum = row.reduce((a, w) => a + w, 0);
          check(
            Math.abs(sum - 1) <= 1e-4,
            `${call(x)}: weights row ${q} sums to ${sum}, expected 1: normalise over the keys ` +
              '(the last axis), e.g. tf.softmax(scores)',
          );
          const distance = keys.map((k) => Math.abs(queries[q] - k));
          const nearest = distance.indexOf(Math.min(...distance));
          row.forEach((w, k) =>
            check(
              k === nearest || w < row[nearest],
              `${call(x)}: query ${queries[q].toFixed(3)} gives key ${keys[k].toFixed(3)} the weight ` +
                `${w}, not less than the nearest key ${keys[nearest].toFixed(3)} gets (${row[nearest]}): ` +
                'a closer key must count more (the kernel decreases with |x_q - x_k| / h)',
            ),
          );
        });
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
          'with a tiny width each query puts (nearly) all its weight on its nearest key',
          1e-4,
          'with h = 0.001 exp(-u^2 / 2) underflows to 0 for every key farther than about 0.013, ' +
            'and a row of zeros gives 0 / 0 = NaN; the softmax form tf.softmax(-u^2 / 2) ' +
            'subtracts the row maximum first',
        );
      },
    },
    {
      name: "huge width: the mean of the values; tiny width: a key's own value",
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
        // And the other end: with a tiny width, a query sitting on a key predicts that key's value.
        const keys = Array.from(x.keys.dataSync());
        const values = Array.from(x.values.dataSync());
        const onKeys: Sample = { ...x, queries: tf.tensor1d(keys.slice(0, 3)), width: 1e-3 };
        expectClose(run(nadarayaWatson, onKeys).predictions, values.slice(0, 3), {
          call: `${call(onKeys)}.predictions with the queries on the first 3 keys`,
          atol: 1e-4,
          checkDtype: false,
          hint: "with a tiny width a query on a key predicts that key's value: the answer must depend on the width",
        });
      },
    },
  ],
});
