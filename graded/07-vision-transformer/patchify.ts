/**
 * Graded tests of exercise 07.1 (patchify and its inverse). The reference is a plain loop over
 * pixels written here, independent of any tensor reshaping, and a hand-written 4 x 4 case.
 */
import * as tf from '@tensorflow/tfjs';
import { describeMismatch } from '../../src/core/compare';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/07-vision-transformer/patchify';

/** Patches by loops: patch n = grid cell (floor(n / Gw), n % Gw), flattened (row, col, channel). */
function patchesByLoops(x: number[][][][], p: number): number[][][] {
  return x.map((img) => {
    const [hi, wi] = [img.length, img[0].length];
    const out: number[][] = [];
    for (let gr = 0; gr < hi / p; gr++) {
      for (let gc = 0; gc < wi / p; gc++) {
        const patch: number[] = [];
        for (let r = 0; r < p; r++) {
          for (let c = 0; c < p; c++) patch.push(...img[gr * p + r][gc * p + c]);
        }
        out.push(patch);
      }
    }
    return out;
  });
}

function images(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  return tf.randomUniform(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
}

/** A hint for a patchify result that is wrong in a known way. */
function diagnose(got: unknown, x: tf.Tensor4D, p: number): string | undefined {
  if (!(got instanceof tf.Tensor)) return undefined;
  const [b, hi, wi, c] = x.shape;
  const n = (hi / p) * (wi / p);
  if (got.size !== x.size) return undefined;
  const plainReshape = x.reshape([b, n, p * p * c]);
  if (describeMismatch(got, plainReshape, { atol: 0 }) === null) {
    return 'one reshape cuts the image into strips of whole rows, not squares: reshape to [B, Gh, P, Gw, P, C] and transpose the axes to [B, Gh, Gw, P, P, C] before flattening';
  }
  const columnMajor = x
    .reshape([b, hi / p, p, wi / p, p, c])
    .transpose([0, 3, 1, 2, 4, 5])
    .reshape([b, n, p * p * c]);
  if (describeMismatch(got, columnMajor, { atol: 0 }) === null) {
    return 'the patches are numbered column by column; number them row by row (grid row first): transpose([0, 1, 3, 2, 4, 5])';
  }
  return undefined;
}

export const patchifySpec = defineExercise<typeof Answers>({
  chapter: '07-vision-transformer',
  exercise: 'patchify',
  reimplements: ['patchify', 'unpatchify'],
  file: 'patchify.ts',
  title: 'Images as sequences of patches',
  tests: [
    {
      name: 'a hand-written 4 x 4 image cut into 2 x 2 patches',
      points: 2,
      run({ patchify }) {
        const x = tf.range(0, 16).reshape([1, 4, 4, 1]) as tf.Tensor4D;
        const expected = tf.tensor3d([
          [
            [0, 1, 4, 5],
            [2, 3, 6, 7],
            [8, 9, 12, 13],
            [10, 11, 14, 15],
          ],
        ]);
        const got = patchify(x, 2);
        expectClose(got, expected, {
          call: `patchify(${arg('images', x)} = 0..15 row by row, 2)`,
          atol: 0,
          hint:
            diagnose(got, x, 2) ??
            'patch 0 is the top-left 2 x 2 square [0, 1, 4, 5], patch 1 the square to its right',
        });
      },
    },
    {
      name: 'matches a pixel-by-pixel reference (batch 2, 12 x 8, 3 channels, P = 4)',
      points: 2,
      run({ patchify }) {
        const x = images([2, 12, 8, 3], 7);
        const expected = tf.tensor3d(patchesByLoops(x.arraySync(), 4));
        const got = patchify(x, 4);
        expectClose(got, expected, {
          call: `patchify(${arg('images', x)}, 4)`,
          atol: 0,
          hint:
            diagnose(got, x, 4) ??
            'expected [B, N, P*P*C] = [2, 6, 48]; each patch flattened in (row, column, channel) order',
        });
      },
    },
    {
      name: 'unpatchify inverts patchify (batch 2, 6 x 9, 2 channels, P = 3)',
      points: 2,
      run({ unpatchify }) {
        const x = images([2, 6, 9, 2], 11);
        const patches = tf.tensor3d(patchesByLoops(x.arraySync(), 3));
        const got = unpatchify(patches, 3, 6, 9);
        expectClose(got, x, {
          call: `unpatchify(${arg('patches', patches)}, 3, 6, 9)`,
          atol: 0,
          hint: 'run patchify backwards: reshape to [B, Gh, Gw, P, P, C], transpose([0, 1, 3, 2, 4, 5]), reshape to [B, Hi, Wi, C]',
        });
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ patchify, unpatchify }) {
        const x = images([1, 8, 8, 1], 3);
        const before = tf.memory().numTensors;
        const p = patchify(x, 4);
        const back = unpatchify(p, 4, 8, 8);
        const extra = tf.memory().numTensors - before - 2;
        check(
          extra <= 0,
          `patchify then unpatchify left ${extra} intermediate tensor(s) besides their results. ` +
            'Hint: wrap each body in tf.tidy(() => ...)',
        );
        expectClose(back, x, { call: 'unpatchify(patchify(x, 4), 4, 8, 8)', atol: 0 });
      },
    },
  ],
});
