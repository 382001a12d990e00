/**
 * Graded tests of exercise 05.1 (split and merge heads). The oracles are the course library's
 * `splitHeads`/`mergeHeads` on seeded random inputs, and a tensor built by hand whose entries say
 * where they came from (`x[b, t, d] = 1000 b + 100 t + d`).
 */
import * as tf from '@tensorflow/tfjs';
import { mergeHeads as refMerge, splitHeads as refSplit } from '../../src/attention/multihead';
import { describeMismatch } from '../../src/core/compare';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/05-self-attention/split-heads';

type Sizes = [number, number, number]; // [B, T, D]

const sample = (seed: number, shape: Sizes) =>
  tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor3D;

/** `x[b, t, d] = 1000 b + 100 t + d`: every entry names its batch element, position, feature. */
function labelled([b, t, d]: Sizes): tf.Tensor3D {
  const values: number[] = [];
  for (let i = 0; i < b; i++)
    for (let j = 0; j < t; j++) for (let k = 0; k < d; k++) values.push(1000 * i + 100 * j + k);
  return tf.tensor3d(values, [b, t, d]);
}

const same = (got: tf.Tensor, other: tf.Tensor) =>
  describeMismatch(got, other, { atol: 1e-6 }) === null;

/** The mistake `got` (an answer to splitHeads) shows, if a known one. */
function diagnoseSplit(got: unknown, x: tf.Tensor3D, h: number): string | undefined {
  if (!(got instanceof tf.Tensor) || got.isDisposed) return undefined;
  const [b, t, d] = x.shape;
  return tf.tidy(() => {
    if (same(got, x.reshape([b, h, t, d / h]))) {
      return (
        'you reshaped [B, T, D] straight to [B, H, T, Dh]: the shape is right but the heads mix ' +
        'positions and features. Reshape to [B, T, H, Dh] first, then transpose([0, 2, 1, 3])'
      );
    }
    if (same(got, x.reshape([b, t, d / h, h]).transpose([0, 3, 1, 2]))) {
      return (
        `head h holds the strided features h, h + ${h}, h + ${2 * h}, ... (reshape to [B, T, Dh, H]); head h must own the ` +
        'contiguous features [h * Dh, (h + 1) * Dh): reshape to [B, T, H, Dh]'
      );
    }
    return undefined;
  });
}

/** The mistake `got` (an answer to mergeHeads) shows, if a known one. */
function diagnoseMerge(got: unknown, x: tf.Tensor4D): string | undefined {
  if (!(got instanceof tf.Tensor) || got.isDisposed) return undefined;
  const [b, h, t, dh] = x.shape;
  return tf.tidy(() => {
    if (same(got, x.reshape([b, t, h * dh]))) {
      return (
        'you reshaped [B, H, T, Dh] straight to [B, T, D]: transpose back to [B, T, H, Dh] first ' +
        '(transpose([0, 2, 1, 3])), then reshape'
      );
    }
    if (same(got, x.transpose([0, 2, 3, 1]).reshape([b, t, h * dh]))) {
      return (
        'your output interleaves the heads (feature j of head h at h + H j): the heads must be ' +
        'concatenated, head 0 first: transpose to [B, T, H, Dh], then reshape'
      );
    }
    return undefined;
  });
}

function checkSplit(answer: typeof Answers.splitHeads, x: tf.Tensor3D, h: number): tf.Tensor {
  const call = `splitHeads(${arg('x', x)}, ${h})`;
  const got = answer(x, h);
  const hint =
    diagnoseSplit(got, x, h) ?? '[B, T, D] -> reshape [B, T, H, Dh] -> transpose [B, H, T, Dh]';
  expectClose(got, refSplit(x, h), { call, atol: 1e-6, hint });
  return got;
}

function checkMerge(answer: typeof Answers.mergeHeads, x: tf.Tensor4D): tf.Tensor {
  const call = `mergeHeads(${arg('x', x)})`;
  const got = answer(x);
  const hint =
    diagnoseMerge(got, x) ?? '[B, H, T, Dh] -> transpose [B, T, H, Dh] -> reshape [B, T, D]';
  expectClose(got, refMerge(x), { call, atol: 1e-6, hint });
  return got;
}

export const splitHeadsSpec = defineExercise<typeof Answers>({
  chapter: '05-self-attention',
  exercise: 'split-heads',
  // The library's own implementations are withheld while this is graded.
  reimplements: ['splitHeads', 'mergeHeads', 'MultiHeadAttention'],
  file: 'split-heads.ts',
  title: 'Split and merge heads',
  tests: [
    {
      name: 'splitHeads matches the reference on random inputs',
      points: 2,
      run({ splitHeads }) {
        const cases: [number, Sizes, number][] = [
          [1, [2, 3, 8], 2],
          [2, [1, 5, 12], 4],
          [3, [3, 2, 6], 3],
        ];
        for (const [seed, shape, h] of cases) checkSplit(splitHeads, sample(seed, shape), h);
      },
    },
    {
      name: 'head h holds features [h Dh, (h + 1) Dh) of every position (entries labelled by hand)',
      points: 1,
      run({ splitHeads }) {
        const x = labelled([2, 3, 6]); // H = 3, Dh = 2
        const got = checkSplit(splitHeads, x, 3);
        const v = got.arraySync() as number[][][][];
        for (let b = 0; b < 2; b++)
          for (let h = 0; h < 3; h++)
            for (let t = 0; t < 3; t++)
              for (let j = 0; j < 2; j++) {
                const want = 1000 * b + 100 * t + 2 * h + j;
                check(
                  v[b][h][t][j] === want,
                  `splitHeads(x [2, 3, 6], 3)[${b}][${h}][${t}][${j}] is ${v[b][h][t][j]}, expected ` +
                    `x[${b}][${t}][${2 * h + j}] = ${want} (head ${h}, position ${t}, feature ${j} of the head)`,
                );
              }
      },
    },
    {
      name: 'mergeHeads matches the reference on random inputs',
      points: 2,
      run({ mergeHeads }) {
        const cases: [number, [number, number, number, number]][] = [
          [4, [2, 2, 3, 4]],
          [5, [1, 4, 5, 3]],
          [6, [3, 3, 2, 2]],
        ];
        for (const [seed, shape] of cases) {
          const x = tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
          checkMerge(mergeHeads, x);
        }
      },
    },
    {
      name: 'mergeHeads(splitHeads(x, H)) gives x back',
      points: 1,
      run({ splitHeads, mergeHeads }) {
        const x = sample(7, [2, 4, 12]);
        const split = splitHeads(x, 4);
        check(
          split instanceof tf.Tensor && split.rank === 4,
          `splitHeads(${arg('x', x)}, 4): expected a tensor [B, H, T, Dh] = [2, 4, 4, 3]`,
        );
        expectClose(mergeHeads(split as tf.Tensor4D), x, {
          call: `mergeHeads(splitHeads(${arg('x', x)}, 4))`,
          atol: 1e-6,
          hint: 'mergeHeads undoes splitHeads: the same transpose, then the reshape back',
        });
      },
    },
  ],
});
