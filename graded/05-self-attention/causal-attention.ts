/**
 * Graded tests of exercise 05.3 (causal mask and masked self-attention). The mask is checked
 * against the lower triangle written out here entry by entry; the attention against the course
 * library's `scaledDotProductAttention` with `{ causal: true, validLens }`, on seeded random inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { scaledDotProductAttention as reference } from '../../src/attention/pooling';
import { diagnoseWeights, type KnownMistake } from '../../src/course/exercise';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/05-self-attention/causal-attention';

type Sizes = { b: number; t: number; d: number; dv: number };

function sample(seed: number, z: Sizes, lens?: number[]) {
  const n = (shape: number[], k: number) => tf.randomNormal(shape, 0, 1, 'float32', seed * 10 + k);
  return {
    query: n([z.b, z.t, z.d], 1) as tf.Tensor3D,
    key: n([z.b, z.t, z.d], 2) as tf.Tensor3D,
    value: n([z.b, z.t, z.dv], 3) as tf.Tensor3D,
    validLens: lens ? tf.tensor1d(lens, 'int32') : undefined,
    lens,
  };
}

type Sample = ReturnType<typeof sample>;

const call = (x: Sample) =>
  `causalSelfAttention(${arg('query', x.query)}, ${arg('key', x.key)}, ${arg('value', x.value)}` +
  `${x.lens ? `, validLens ${JSON.stringify(x.lens)}` : ''})`;

/** `[T, T]` rows of booleans: `keep(t, s)` for every query `t` and key `s`. */
const grid = (len: number, keep: (t: number, s: number) => boolean) =>
  Array.from({ length: len }, (_, t) => Array.from({ length: len }, (_, s) => keep(t, s)));

/** Weights of scaled dot-product attention under a `[T, T]` keep-rule (and the sample's lengths). */
function weightsUnder(x: Sample, keep: boolean[][] | undefined, scaled = true): tf.Tensor {
  const mask = keep ? tf.tensor2d(keep.flat(), [keep.length, keep.length], 'bool') : undefined;
  const q = scaled ? x.query : tf.mul(x.query, Math.sqrt(x.query.shape[2]));
  return reference(q, x.key, x.value, {
    ...(mask ? { mask: mask } : {}),
    ...(x.validLens ? { validLens: x.validLens } : {}),
  }).weights;
}

function mistakes(x: Sample): KnownMistake[] {
  const len = x.query.shape[1];
  const d = x.query.shape[2];
  const list: KnownMistake[] = [
    {
      result: () =>
        weightsUnder(
          x,
          grid(len, (t, s) => s >= t),
        ),
      message:
        'mask polarity: your queries see the keys AFTER them (s >= t). Query t may see key s ' +
        'only when s <= t, the lower triangle; in this course true = keep',
    },
    {
      result: () => weightsUnder(x, undefined),
      message:
        'nothing is hidden: your weights match attention over every key; apply the causal mask',
    },
    {
      result: () =>
        tf.softmax(
          tf.mul(
            tf.div(tf.matMul(x.query, x.key, false, true), Math.sqrt(d)),
            tf.tensor2d(grid(len, (t, s) => s <= t).flat(), [len, len], 'bool').toFloat(),
          ),
        ),
      message:
        'you multiplied the scores by the 0/1 mask: a hidden score of 0 still gets exp(0) > 0. ' +
        'Replace hidden scores with -Infinity (tf.where), or with a large negative number like -1e9',
    },
    {
      result: () =>
        weightsUnder(
          x,
          grid(len, (t, s) => s <= t),
          false,
        ),
      message: `the scores are not scaled: divide Q K^T by Math.sqrt(D) = ${Math.sqrt(d).toPrecision(4)}`,
    },
  ];
  if (x.validLens) {
    list.push({
      result: () => reference(x.query, x.key, x.value, { causal: true }).weights,
      message:
        'your weights ignore validLens: key s of batch element b is padding when s >= validLens[b]',
    });
  }
  return list;
}

function agrees(answer: typeof Answers.causalSelfAttention, x: Sample, hint: string) {
  const got = answer(x.query, x.key, x.value, x.validLens);
  check(
    got !== null && typeof got === 'object' && 'weights' in got && 'output' in got,
    `${call(x)}: expected an object { weights, output }, got ${got === null ? 'null' : typeof got}`,
  );
  const want = reference(x.query, x.key, x.value, {
    causal: true,
    ...(x.validLens ? { validLens: x.validLens } : {}),
  });
  const diagnosis = diagnoseWeights(got.weights, want.weights, {
    mistakes: mistakes(x),
    nonFinite:
      'a row with no visible key is all -Infinity, and its softmax is NaN: query t must see key ' +
      's <= t (the diagonal included, tf.lessEqual) and true must mean keep, so no row is empty',
  });
  const tol = { atol: 1e-5, rtol: 1e-4 };
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

export const causalAttentionSpec = defineExercise<typeof Answers>({
  chapter: '05-self-attention',
  exercise: 'causal-attention',
  reimplements: [
    'causalMask',
    'scaledDotProductAttention',
    'MultiHeadAttention',
    'attentionPooling',
  ],
  file: 'causal-attention.ts',
  title: 'Causal mask and masked self-attention',
  tests: [
    {
      name: 'causalMask is the lower triangle with the diagonal (true = keep)',
      points: 2,
      run({ causalMask }) {
        for (const len of [1, 4, 7]) {
          const got = causalMask(len);
          const want = grid(len, (t, s) => s <= t);
          check(
            got instanceof tf.Tensor && got.dtype === 'bool',
            `causalMask(${len}): expected a bool tensor [T, T], got ${got instanceof tf.Tensor ? got.dtype : typeof got}`,
          );
          check(
            got.shape.join() === `${len},${len}`,
            `causalMask(${len}): expected shape [${len}, ${len}], got [${got.shape.join(', ')}]`,
          );
          const v = got.arraySync() as unknown as (boolean | number)[][];
          want.forEach((row, t) =>
            row.forEach((keep, s) => {
              const g = Boolean(v[t][s]);
              check(
                g === keep,
                `causalMask(${len})[${t}][${s}] is ${g}: query ${t} ${keep ? 'may' : 'must not'} see key ${s}` +
                  (keep && s === t ? ' (itself: s <= t, the diagonal included)' : '') +
                  (!keep ? ' (a later position; true = keep, false = hide)' : ''),
              );
            }),
          );
        }
      },
    },
    {
      name: 'causal attention matches the reference (no padding)',
      points: 2,
      run({ causalSelfAttention }) {
        agrees(
          causalSelfAttention,
          sample(1, { b: 2, t: 5, d: 4, dv: 3 }),
          'softmax(Q K^T / sqrt(D)) with keys s > t hidden',
        );
        agrees(
          causalSelfAttention,
          sample(2, { b: 1, t: 3, d: 8, dv: 2 }),
          'softmax(Q K^T / sqrt(D)) with keys s > t hidden',
        );
      },
    },
    {
      name: 'future keys get exactly 0 and each row sums to 1',
      points: 1,
      run({ causalSelfAttention }) {
        const x = sample(3, { b: 2, t: 4, d: 4, dv: 2 });
        const w = agrees(causalSelfAttention, x, 'hidden keys get weight exactly 0').weights;
        (w.arraySync() as number[][][]).forEach((rows, b) =>
          rows.forEach((row, t) =>
            row.forEach((v, s) =>
              check(
                s <= t || v === 0,
                `${call(x)}.weights[${b}][${t}][${s}] is ${v}: key ${s} is after query ${t} and must get exactly 0`,
              ),
            ),
          ),
        );
      },
    },
    {
      name: 'causal AND padding: keys s >= validLens[b] are hidden too',
      points: 2,
      run({ causalSelfAttention }) {
        agrees(
          causalSelfAttention,
          sample(4, { b: 3, t: 5, d: 4, dv: 3 }, [5, 2, 1]),
          'keep key s for query t when s <= t AND s < validLens[b] (tf.logicalAnd of the two masks)',
        );
      },
    },
  ],
});
