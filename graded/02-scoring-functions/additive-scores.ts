/**
 * Graded tests of exercise 02.2 (additive attention scores). The oracle is the course library's
 * `AdditiveAttention` layer, loaded with the same weights, on seeded random inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { describeMismatch } from '../../src/core/compare';
import { AdditiveAttention } from '../../src/attention/scoring';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/02-scoring-functions/additive-scores';

type Sizes = { b: number; t: number; s: number; dq: number; dk: number; a: number };

/** Seeded queries, keys and weights; `scale` multiplies the inputs (large values saturate tanh). */
function sample(seed: number, z: Sizes, scale = 1) {
  const n = (shape: number[], k: number, std = 1) =>
    tf.randomNormal(shape, 0, std, 'float32', seed * 10 + k);
  return {
    queries: tf.mul(n([z.b, z.t, z.dq], 1), scale) as tf.Tensor3D,
    keys: tf.mul(n([z.b, z.s, z.dk], 2), scale) as tf.Tensor3D,
    wQ: n([z.dq, z.a], 3, 1 / Math.sqrt(z.dq)) as tf.Tensor2D,
    wK: n([z.dk, z.a], 4, 1 / Math.sqrt(z.dk)) as tf.Tensor2D,
    v: n([z.a], 5) as tf.Tensor1D,
  };
}

type Sample = ReturnType<typeof sample>;

const call = (x: Sample) =>
  `additiveScores(${arg('queries', x.queries)}, ${arg('keys', x.keys)}, ${arg('wQ', x.wQ)}, ` +
  `${arg('wK', x.wK)}, ${arg('v', x.v)})`;

/** The library's additive attention with these weights. */
function reference(x: Sample): tf.Tensor {
  const [dq, a] = x.wQ.shape;
  const layer = new AdditiveAttention({ queryDim: dq, keyDim: x.wK.shape[0], hiddenDim: a });
  try {
    layer.wQ.setWeights(x.wQ);
    layer.wK.setWeights(x.wK);
    layer.v.assign(x.v);
    return layer.score(x.queries, x.keys);
  } finally {
    layer.dispose();
  }
}

/** Recognisable mistakes, each with what to change. */
function diagnose(got: tf.Tensor, x: Sample): string | undefined {
  const q = tf.matMul(x.queries.reshape([-1, x.wQ.shape[0]]), x.wQ);
  const k = tf.matMul(x.keys.reshape([-1, x.wK.shape[0]]), x.wK);
  const [b, t] = x.queries.shape;
  const s = x.keys.shape[1];
  const a = x.v.shape[0];
  const pairs = tf.add(q.reshape([b, t, 1, a]), k.reshape([b, 1, s, a])); // [B, T, S, A]
  const noTanh = tf.sum(tf.mul(pairs, x.v), -1);
  if (describeMismatch(got, noTanh, { atol: 1e-4 }) === null) {
    return 'your scores equal v . (W_q q + W_k k) without the tanh: apply tf.tanh to the sum before the dot product with v';
  }
  const expected = reference(x);
  if (t !== s && got.shape.join() === [b, s, t].join()) {
    const swapped = expected.transpose([0, 2, 1]);
    if (describeMismatch(got, swapped, { atol: 1e-4 }) === null) {
      return 'your scores are [B, S, T], transposed: put the query axis before the key axis ([B, T, 1, A] + [B, 1, S, A])';
    }
    return `the result should be [B, T, S] = [${b}, ${t}, ${s}] (one row per query, one column per key)`;
  }
  return undefined;
}

/** Fails with the call, what differs and a hint unless the answer matches the library. */
function agreesWithReference(
  answer: typeof Answers.additiveScores,
  x: Sample,
  hint: string,
  atol = 1e-4,
  nonFinite = 'NaN or Infinity: compute tanh with tf.tanh (it saturates to +-1), not from exp()',
): tf.Tensor {
  const got = answer(x.queries, x.keys, x.wQ, x.wK, x.v);
  const expected = reference(x);
  if (describeMismatch(got, expected, { atol, rtol: 1e-4 }) !== null && got instanceof tf.Tensor) {
    const finite = got.dataSync().every(Number.isFinite);
    hint = diagnose(got, x) ?? (finite ? hint : `your scores hold ${nonFinite}`);
  }
  expectClose(got, expected, { call: call(x), atol, rtol: 1e-4, hint });
  return got;
}

export const additiveScoresSpec = defineExercise<typeof Answers>({
  chapter: '02-scoring-functions',
  exercise: 'additive-scores',
  // The library's own implementation is withheld while this is graded (issue 12).
  reimplements: ['additiveScores'],
  file: 'additive-scores.ts',
  title: 'Additive attention scores',
  tests: [
    {
      name: 'matches the reference on random inputs (queries and keys of different widths)',
      points: 2,
      run({ additiveScores }) {
        const cases: [number, Sizes][] = [
          [1, { b: 2, t: 3, s: 5, dq: 4, dk: 6, a: 8 }],
          [2, { b: 1, t: 4, s: 2, dq: 3, dk: 3, a: 5 }],
          [3, { b: 3, t: 2, s: 7, dq: 5, dk: 2, a: 3 }],
        ];
        for (const [seed, sizes] of cases) {
          agreesWithReference(
            additiveScores,
            sample(seed, sizes),
            'compute v . tanh(W_q^T q + W_k^T k) for every (query, key) pair',
          );
        }
      },
    },
    {
      name: 'handles a single query and a single key, and a hidden width of 1',
      points: 1,
      run({ additiveScores }) {
        agreesWithReference(
          additiveScores,
          sample(4, { b: 2, t: 1, s: 1, dq: 3, dk: 2, a: 1 }),
          'keep the size-1 axes: the result must still be [B, T, S] = [2, 1, 1]',
        );
      },
    },
    {
      name: 'is right for wide inputs and for large values (tanh saturates, no NaN)',
      points: 1,
      run({ additiveScores }) {
        agreesWithReference(
          additiveScores,
          sample(5, { b: 2, t: 3, s: 4, dq: 300, dk: 200, a: 16 }),
          'check the projections: [B*T, Dq] x [Dq, A] for queries, [B*S, Dk] x [Dk, A] for keys',
          1e-3,
        );
        const got = agreesWithReference(
          additiveScores,
          sample(6, { b: 2, t: 3, s: 4, dq: 4, dk: 5, a: 6 }, 1000),
          'with inputs of size 1000 most tanh values are +-1; the scores are still v . tanh(...)',
        );
        const values = got.dataSync();
        check(
          values.every(Number.isFinite),
          `${call(sample(6, { b: 2, t: 3, s: 4, dq: 4, dk: 5, a: 6 }, 1000))}: got NaN or Infinity for inputs of size 1000`,
        );
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ additiveScores }) {
        const x = sample(7, { b: 2, t: 3, s: 4, dq: 4, dk: 5, a: 6 });
        const before = tf.memory().numTensors;
        const got = additiveScores(x.queries, x.keys, x.wQ, x.wK, x.v);
        const extra = tf.memory().numTensors - before - 1;
        check(
          extra <= 0,
          `${call(x)} left ${extra} intermediate tensor(s) in memory besides its result. ` +
            'Hint: wrap the computation in tf.tidy(() => { ... return scores; }); tf.tidy frees ' +
            'every tensor made inside it except the one returned',
        );
        expectClose(got, reference(x), { call: call(x), atol: 1e-4, rtol: 1e-4 });
      },
    },
  ],
});
