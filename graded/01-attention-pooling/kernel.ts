/**
 * Graded tests of exercise 01.1 (a kernel of the learner's choice). There is no single right
 * answer, so the tests check the properties every attention kernel needs (non-negative,
 * symmetric, largest at 0, non-increasing in |d| and decaying, finite, element-wise) and what
 * they buy in Nadaraya-Watson pooling (constants are reproduced; a huge width gives the plain
 * mean). The oracles are these properties and closed forms, on seeded random distances; the
 * Gaussian, Laplace, triangle, Epanechnikov, boxcar, tricube and Cauchy kernels all earn full
 * marks, while negative, increasing, oscillating, asymmetric, NaN-producing or self-normalising
 * functions lose points, and a constant or non-decaying one (average pooling) scores 0.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../src/core/random';
import { formatShape } from '../../src/core/shapes';
import { check, defineExercise, expectClose, Feedback } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/01-attention-pooling/kernel';

type KernelFn = typeof Answers.kernel;

/** A number as a learner would write it: `0.25`, `1e+4`. */
const show = (x: number): string => String(Number(x.toPrecision(6)));

/** Calls the answer on `distance` and checks it returned a float32 tensor of the same shape. */
function apply(kernel: KernelFn, distance: tf.Tensor, what: string): tf.Tensor {
  const got = kernel(distance);
  const call = `kernel(${what} ${formatShape(distance.shape)})`;
  if (!(got instanceof tf.Tensor)) {
    throw new Feedback(
      `${call}: expected a tf.Tensor, got ${Array.isArray(got) ? 'an array' : typeof got}`,
    );
  }
  check(
    got.shape.length === distance.shape.length &&
      got.shape.every((d, i) => d === distance.shape[i]),
    `${call}: returned shape ${formatShape(got.shape)}, expected the input's shape ` +
      `${formatShape(distance.shape)}. Hint: a kernel acts element by element; do not sum or normalise.`,
  );
  check(
    got.dtype === 'float32',
    `${call}: returned dtype ${got.dtype}, expected float32. Hint: cast with .cast('float32') ` +
      '(e.g. after a comparison such as tf.lessEqual).',
  );
  return got;
}

/** `K(d)` for each `d` in `ds`, as plain numbers. */
function valuesAt(kernel: KernelFn, ds: number[], what = 'distance'): number[] {
  return Array.from(apply(kernel, tf.tensor1d(ds), what).dataSync());
}

/** Distances from -20 to 20 in steps of 0.01 (exact decimals), then some far ones. */
function grid(): number[] {
  const near = Array.from({ length: 4001 }, (_, i) => (i - 2000) / 100);
  const far = [25, 50, 100, 1000, 1e4];
  return [...far.map((d) => -d).reverse(), ...near, ...far];
}

/** Seeded uniform distances in [-6, 6]. */
function randomDistances(seed: number, n: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.uniform() * 12 - 6);
}

/** `K(0)`, checked to be finite and > 0: every later test measures against it. */
function atZero(kernel: KernelFn): number {
  const [k0] = valuesAt(kernel, [0]);
  check(
    Number.isFinite(k0) && k0 > 0,
    `kernel(0) = ${k0}, expected a finite number > 0: an exact match must get some weight. ` +
      'Hint: the Gaussian exp(-d^2 / 2) gives 1 at d = 0.',
  );
  return k0;
}

/**
 * `K(0)`, after checking that the kernel attends at all: positive at 0 and below half of that at
 * distance 10000. A constant (or non-decaying) function weighs every key alike, which is average
 * pooling, not attention; it would trivially be symmetric, non-negative, largest at 0 and
 * reproduce constants, so every test asks for this first and a constant kernel scores 0.
 */
function attends(kernel: KernelFn): number {
  const k0 = atZero(kernel);
  const [far] = valuesAt(kernel, [1e4]);
  check(
    far < k0 / 2,
    `kernel(10000) = ${far} while kernel(0) = ${k0}: a kernel that does not fall off with ` +
      'distance weighs every key alike (average pooling, whatever the width), so this test does ' +
      'not count until it does. Hint: make K(d) shrink as |d| grows, e.g. exp(-d^2 / 2).',
  );
  return k0;
}

/**
 * Nadaraya-Watson with the answer's kernel, written out here: kernel values `K((q - k) / h)`,
 * normalised over the keys, predictions `weights . values`. Fails with feedback on kernel values
 * that are not finite and >= 0. Rows whose kernel values sum to 0 (no key inside a compact
 * kernel's support) get prediction `null`.
 */
function pool(
  kernel: KernelFn,
  queries: number[],
  keys: number[],
  values: number[],
  width: number,
): { weights: (number[] | null)[]; predictions: (number | null)[] } {
  const u = tf.div(
    tf.sub(tf.tensor2d(queries, [queries.length, 1]), tf.tensor2d(keys, [1, keys.length])),
    width,
  ); // [Q, 1] - [1, K] -> [Q, K]
  const k = apply(kernel, u, 'scaled distances').arraySync() as number[][];
  const weights = k.map((row, q) => {
    row.forEach((v, j) =>
      check(
        Number.isFinite(v) && v >= 0,
        `with width ${width}, query ${show(queries[q])} and key ${show(keys[j])} get the kernel ` +
          `value ${v}, expected a finite number >= 0: normalised weights would not be a weighted ` +
          'average any more. Hint: clip with tf.relu, and avoid operations that overflow.',
      ),
    );
    const total = row.reduce((s, v) => s + v, 0);
    return total > 0 ? row.map((v) => v / total) : null;
  });
  const predictions = weights.map((row) =>
    row === null ? null : row.reduce((s, w, j) => s + w * values[j], 0),
  );
  return { weights, predictions };
}

/** Seeded sorted keys uniform in [0, 5]. */
function randomKeys(seed: number, n: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.uniform() * 5).sort((a, b) => a - b);
}

export const kernelSpec = defineExercise<typeof Answers>({
  chapter: '01-attention-pooling',
  exercise: 'kernel',
  // The library's own implementation is withheld while this is graded (issue 12).
  reimplements: ['kernelValues'],
  file: 'kernel.ts',
  title: 'A kernel of your choice',
  tests: [
    {
      name: 'acts element by element on tensors of any shape',
      points: 1,
      run({ kernel }) {
        attends(kernel);
        const ds = randomDistances(101, 12);
        const matrix = apply(kernel, tf.tensor2d(ds, [3, 4]), 'distance');
        const flat = apply(kernel, tf.tensor1d(ds), 'distance');
        expectClose(matrix, flat.reshape([3, 4]), {
          call: 'kernel(distance [3, 4]) vs kernel of the same 12 distances as [12]',
          atol: 1e-6,
          rtol: 1e-5,
          hint: 'K(d) must depend only on d itself, not on the other entries (no sums, no softmax)',
        });
        ds.slice(0, 4).forEach((d, i) => {
          const single = valuesAt(kernel, [d])[0];
          const inMatrix = flat.dataSync()[i];
          check(
            Object.is(single, inMatrix) ||
              Math.abs(single - inMatrix) <= 1e-6 + 1e-5 * Math.abs(single),
            `kernel([${show(d)}]) = ${single} but the same distance inside a tensor of 12 gives ` +
              `${inMatrix}. Hint: compute each value from its own distance only.`,
          );
        });
      },
    },
    {
      name: 'is finite, also for huge distances',
      points: 1,
      run({ kernel }) {
        attends(kernel);
        const ds = grid();
        valuesAt(kernel, ds).forEach((k, i) =>
          check(
            Number.isFinite(k),
            `kernel(${show(ds[i])}) = ${k}, expected a finite number. Hint: exp(+d^2) overflows ` +
              'and sqrt of a negative number is NaN; a kernel should shrink with distance.',
          ),
        );
      },
    },
    {
      name: 'is never negative',
      points: 1,
      run({ kernel }) {
        attends(kernel);
        const ds = [...grid(), ...randomDistances(202, 200)];
        valuesAt(kernel, ds).forEach((k, i) =>
          check(
            k >= 0,
            `kernel(${show(ds[i])}) = ${k}, expected a value >= 0: attention weights cannot be ` +
              'negative. Hint: clip with tf.relu, e.g. max(0, 1 - d^2).',
          ),
        );
      },
    },
    {
      name: 'is symmetric: K(-d) = K(d)',
      points: 1,
      run({ kernel }) {
        attends(kernel);
        const ds = [...randomDistances(303, 50), 0.5, 1, 2, 10];
        const plus = apply(kernel, tf.tensor1d(ds), 'distance');
        const minus = apply(kernel, tf.neg(tf.tensor1d(ds)), '-distance');
        expectClose(minus, plus, {
          call: 'kernel(-d) vs kernel(d)',
          atol: 1e-6,
          rtol: 1e-5,
          hint: 'use |d| or d^2 (tf.abs, tf.square) so the sign of the distance does not matter',
        });
      },
    },
    {
      name: 'is largest at d = 0, and positive there',
      points: 1,
      run({ kernel }) {
        const k0 = attends(kernel);
        const ds = [...grid(), ...randomDistances(404, 200)];
        valuesAt(kernel, ds).forEach((k, i) =>
          check(
            !(k > k0 * (1 + 1e-6)),
            `kernel(${show(ds[i])}) = ${k} is larger than kernel(0) = ${k0}: a key at distance ` +
              `${show(Math.abs(ds[i]))} would count more than an exact match. Hint: the kernel ` +
              'should peak at 0.',
          ),
        );
      },
    },
    {
      name: 'does not increase as |d| grows, and is small far away',
      points: 1,
      run({ kernel }) {
        const k0 = attends(kernel);
        const magnitudes = grid().filter((d) => d >= 0);
        for (const sign of [1, -1]) {
          const ds = magnitudes.map((d) => sign * d);
          const ks = valuesAt(kernel, ds);
          for (let i = 1; i < ks.length; i++) {
            check(
              !(ks[i] > ks[i - 1] + 1e-6 * k0),
              `kernel(${show(ds[i])}) = ${ks[i]} > kernel(${show(ds[i - 1])}) = ${ks[i - 1]}: ` +
                'the farther key would get more weight. Hint: the kernel must not rise again ' +
                'as |d| grows (no oscillation, no bump away from 0).',
            );
          }
          const far = ks[ks.length - 1];
          check(
            far < k0 / 2,
            `kernel(${show(ds[ds.length - 1])}) = ${far}, expected less than kernel(0) / 2 = ` +
              `${k0 / 2}: a kernel that never decays weighs every key alike (that is average ` +
              'pooling, whatever the width). Hint: let the kernel fall off with distance.',
          );
        }
      },
    },
    {
      name: 'in Nadaraya-Watson, gives weights in [0, 1] that reproduce a constant function',
      points: 1,
      run({ kernel }) {
        attends(kernel);
        const keys = randomKeys(505, 20);
        const rng = createRng(506);
        // Queries on the keys (K(0) > 0 guarantees some weight) and between them.
        const queries = [...keys, ...Array.from({ length: 10 }, () => rng.uniform() * 5)];
        const c = 3.7;
        const { weights, predictions } = pool(
          kernel,
          queries,
          keys,
          keys.map(() => c),
          0.5,
        );
        predictions.forEach((p, q) => {
          const row = weights[q];
          if (p === null || row === null) {
            check(
              q >= keys.length,
              `query ${show(queries[q])} sits exactly on a key, yet all its kernel values are 0`,
            );
            return;
          }
          row.forEach((w, j) =>
            check(
              w >= 0 && w <= 1 + 1e-6,
              `with width 0.5, query ${show(queries[q])} gives key ${show(keys[j])} the ` +
                `normalised weight ${w}, expected a value in [0, 1]`,
            ),
          );
          check(
            Math.abs(p - c) <= 1e-5 * c,
            `with every value equal to ${c}, query ${show(queries[q])} is predicted as ${p}, ` +
              `expected ${c}: a weighted average of equal values is that value.`,
          );
        });
      },
    },
    {
      name: 'in Nadaraya-Watson with a huge width, gives the mean of the values',
      points: 1,
      run({ kernel }) {
        attends(kernel);
        const keys = randomKeys(607, 15);
        const rng = createRng(608);
        const values = keys.map(() => rng.normal() * 2 + 1);
        const mean = values.reduce((s, v) => s + v, 0) / values.length;
        const queries = [0.3, 2.2, 4.9];
        // With h = 1e6 every scaled distance is below 1e-5, so every key should weigh 1/15.
        const { predictions } = pool(kernel, queries, keys, values, 1e6);
        predictions.forEach((p, q) =>
          check(
            p !== null && Math.abs(p - mean) <= 1e-4 * (1 + Math.abs(mean)),
            `with width 1e6, query ${show(queries[q])} is predicted as ${p}, expected the mean ` +
              `of the values ${mean}: all scaled distances are below 1e-5, so every key should ` +
              'get (nearly) the weight kernel(0). Hint: the kernel should be continuous at 0 and ' +
              'positive near it.',
          ),
        );
      },
    },
  ],
});
