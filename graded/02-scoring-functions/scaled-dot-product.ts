/**
 * Graded tests of exercise 02.3 (scaled dot-product attention with valid lengths). The oracle is
 * the course library's `scaledDotProductAttention`, on seeded random inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { scaledDotProductAttention as reference } from '../../src/attention/pooling';
import { maskedSoftmax } from '../../src/attention/softmax';
import { diagnoseWeights, type KnownMistake } from '../../src/course/exercise';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/02-scoring-functions/scaled-dot-product';

type Sizes = { b: number; t: number; s: number; d: number; dv: number };

/** Seeded query, key, value (`scale` multiplies query and key) and optional valid lengths. */
function sample(seed: number, z: Sizes, opts: { scale?: number; lens?: number[] } = {}) {
  const n = (shape: number[], k: number) => tf.randomNormal(shape, 0, 1, 'float32', seed * 10 + k);
  const scale = opts.scale ?? 1;
  return {
    query: tf.mul(n([z.b, z.t, z.d], 1), scale) as tf.Tensor3D,
    key: tf.mul(n([z.b, z.s, z.d], 2), scale) as tf.Tensor3D,
    value: n([z.b, z.s, z.dv], 3) as tf.Tensor3D,
    validLens: opts.lens ? tf.tensor1d(opts.lens, 'int32') : undefined,
  };
}

type Sample = ReturnType<typeof sample>;

const call = (x: Sample) =>
  `scaledDotProductAttention(${arg('query', x.query)}, ${arg('key', x.key)}, ` +
  `${arg('value', x.value)}${x.validLens ? `, validLens ${JSON.stringify(Array.from(x.validLens.dataSync()))}` : ''})`;

function expected(x: Sample) {
  return reference(x.query, x.key, x.value, x.validLens ? { validLens: x.validLens } : {});
}

/** Recognisable mistakes in the weights, each with what to change. */
function mistakes(x: Sample): KnownMistake[] {
  const d = x.query.shape[2];
  const raw = () => tf.matMul(x.query, x.key, false, true); // [B, T, S]
  const opts = x.validLens ? { validLens: x.validLens } : {};
  const list: KnownMistake[] = [
    {
      result: () => maskedSoftmax(raw(), opts),
      message: `your weights match softmax(Q K^T) without scaling: divide the scores by Math.sqrt(D) = ${Math.sqrt(d).toPrecision(4)}`,
    },
    {
      result: () => maskedSoftmax(tf.div(raw(), d), opts),
      message: `your weights match softmax(Q K^T / D): divide by the square root of D = ${d}, not by D`,
    },
  ];
  if (x.validLens) {
    list.push({
      result: () => reference(x.query, x.key, x.value).weights,
      message: 'your weights ignore validLens: keys at positions >= validLens[b] must get weight 0',
    });
  }
  return list;
}

/**
 * Fails with the call, what differs and a hint unless both outputs match the library. The hint
 * names the mistake the weights show (no or wrong scale, mask ignored, wrong axis, rows that do
 * not sum to 1, NaN: `nonFinite`), and is `hint` when they show none.
 */
function agreesWithReference(
  answer: typeof Answers.scaledDotProductAttention,
  x: Sample,
  hint: string,
  nonFinite = 'NaN comes from 0 / 0 or Infinity / Infinity: use tf.softmax on the masked scores',
) {
  const got = answer(x.query, x.key, x.value, x.validLens);
  check(
    got !== null && typeof got === 'object' && 'weights' in got && 'output' in got,
    `${call(x)}: expected an object { weights, output }, got ${got === null ? 'null' : typeof got}`,
  );
  const want = expected(x);
  const tol = { atol: 1e-4, rtol: 1e-4 };
  const diagnosis = diagnoseWeights(got.weights, want.weights, {
    nonFinite,
    mistakes: mistakes(x),
  });
  expectClose(got.weights, want.weights, {
    call: `${call(x)}.weights`,
    ...tol,
    hint: diagnosis ?? hint,
  });
  expectClose(got.output, want.output, {
    call: `${call(x)}.output`,
    ...tol,
    hint: 'the weights are right; the output is weights x value: tf.matMul(weights, value)',
  });
  return got;
}

/**
 * Query `[B, T, D]` and key `[B, S, D]` whose first coordinate is `big` and the others N(0, 1):
 * every score is `big^2 / sqrt(D)` plus a normal-sized part, so exp overflows while the weights (which a
 * common shift does not change) stay far from one-hot.
 */
function shifted(seed: number, z: Sizes, big: number, lens: number[]): Sample {
  const x = sample(seed, z, { lens });
  const lift = (t: tf.Tensor3D) =>
    tf.concat([tf.fill([t.shape[0], t.shape[1], 1], big), t.slice([0, 0, 1])], 2) as tf.Tensor3D;
  return { ...x, query: lift(x.query), key: lift(x.key) };
}

export const scaledDotProductSpec = defineExercise<typeof Answers>({
  chapter: '02-scoring-functions',
  exercise: 'scaled-dot-product',
  // The library's own implementation is withheld while this is graded (issue 12).
  reimplements: ['scaledDotProductAttention', 'scaledDotScores', 'attentionPooling'],
  file: 'scaled-dot-product.ts',
  title: 'Scaled dot-product attention',
  tests: [
    {
      name: 'matches the reference on random inputs without a mask',
      points: 2,
      run({ scaledDotProductAttention }) {
        const cases: [number, Sizes][] = [
          [1, { b: 2, t: 3, s: 5, d: 4, dv: 2 }],
          [2, { b: 1, t: 1, s: 4, d: 8, dv: 3 }],
          [3, { b: 3, t: 4, s: 2, d: 2, dv: 5 }],
        ];
        for (const [seed, sizes] of cases) {
          agreesWithReference(
            scaledDotProductAttention,
            sample(seed, sizes),
            'weights = softmax(Q K^T / sqrt(D)) over the last axis (the keys)',
          );
        }
      },
    },
    {
      name: 'scales by sqrt(D) at a large width (D = 512)',
      points: 1,
      run({ scaledDotProductAttention }) {
        agreesWithReference(
          scaledDotProductAttention,
          sample(4, { b: 2, t: 3, s: 6, d: 512, dv: 4 }),
          'D is the size of the last axis of the query; divide the scores by Math.sqrt(D)',
        );
      },
    },
    {
      name: 'gives padded keys exactly zero weight (validLens)',
      points: 2,
      run({ scaledDotProductAttention }) {
        const x = sample(5, { b: 3, t: 2, s: 5, d: 4, dv: 3 }, { lens: [2, 5, 1] });
        const got = agreesWithReference(
          scaledDotProductAttention,
          x,
          'softmax over the first validLens[b] keys only; fill the others with a very negative number',
        );
        const lens = [2, 5, 1];
        (got.weights.arraySync() as number[][][]).forEach((rows, b) =>
          rows.forEach((row, t) =>
            row.forEach((w, s) =>
              check(
                s < lens[b] || w === 0,
                `${call(x)}: weight [${b}, ${t}, ${s}] is ${w}, but key ${s} >= validLens[${b}] = ${lens[b]} is padding and must be exactly 0`,
              ),
            ),
          ),
        );
      },
    },
    {
      name: 'returns zero weights and a zero output, not NaN, when validLens is 0',
      points: 1,
      run({ scaledDotProductAttention }) {
        agreesWithReference(
          scaledDotProductAttention,
          sample(6, { b: 2, t: 3, s: 4, d: 4, dv: 2 }, { lens: [0, 3] }),
          'validLens[0] = 0: every weight of batch element 0 must be 0 (multiply the softmax by the mask)',
          'validLens[0] = 0: every weight of batch element 0 must be 0, not NaN; the softmax of a ' +
            'row that is all -Infinity is 0 / 0 = NaN (fill with a large finite negative number ' +
            'and multiply the result by the mask)',
        );
      },
    },
    {
      name: 'is stable for large scores',
      points: 1,
      run({ scaledDotProductAttention }) {
        // Scores about 30^2 / 2 = 450 plus N(0, 1)-sized parts: exp(450) overflows float32.
        agreesWithReference(
          scaledDotProductAttention,
          shifted(7, { b: 2, t: 2, s: 5, d: 4, dv: 3 }, 30, [3, 5]),
          'adding the same number to every score of a row does not change its softmax weights',
          'exp of a score near 450 overflows to Infinity, and Infinity / Infinity = NaN: use ' +
            'tf.softmax, which subtracts the row maximum first',
        );
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ scaledDotProductAttention }) {
        const x = sample(8, { b: 2, t: 3, s: 4, d: 4, dv: 2 }, { lens: [2, 4] });
        const before = tf.memory().numTensors;
        const got = scaledDotProductAttention(x.query, x.key, x.value, x.validLens);
        const results = new Set([got?.weights, got?.output].filter((r) => r instanceof tf.Tensor));
        const extra = tf.memory().numTensors - before - results.size;
        check(
          extra <= 0,
          `${call(x)} left ${extra} intermediate tensor(s) in memory besides weights and output. ` +
            'Hint: wrap the computation in tf.tidy(() => { ... return { weights, output }; }); ' +
            'tf.tidy frees every tensor made inside it except those returned',
        );
        agreesWithReference(scaledDotProductAttention, x, 'see the other tests');
      },
    },
  ],
});
