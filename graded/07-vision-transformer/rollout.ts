/**
 * Graded tests of exercise 07.3 (attention rollout, Abnar & Zuidema 2020). References: identity
 * attention, a 2-layer case computed by hand, and a loop-based rollout written here.
 */
import * as tf from '@tensorflow/tfjs';
import { describeMismatch } from '../../src/core/compare';
import { check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/07-vision-transformer/rollout';

type Mat = number[][];

function matMul(a: Mat, b: Mat): Mat {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}

/** Rollout by loops on one batch element; `layers[l][h]` is a `[T, T]` matrix. */
function rolloutByLoops(
  layers: Mat[][],
  opts: { residual?: boolean; order?: 'right' | 'wrong' } = {},
): Mat {
  let r: Mat | null = null;
  for (const heads of layers) {
    const t = heads[0].length;
    let a: Mat = heads[0].map((row, i) =>
      row.map((_, j) => heads.reduce((s, h) => s + h[i][j], 0) / heads.length),
    );
    if (opts.residual !== false) {
      a = a.map((row, i) => row.map((v, j) => v + (i === j ? 1 : 0)));
      a = a.map((row) => {
        const s = row.reduce((x, y) => x + y, 0);
        return row.map((v) => v / s);
      });
    }
    void t;
    r = r === null ? a : opts.order === 'wrong' ? matMul(r, a) : matMul(a, r);
  }
  return r as Mat;
}

function randomAttention(b: number, h: number, t: number, seed: number): tf.Tensor4D {
  return tf.tidy(() =>
    tf.softmax(tf.randomNormal([b, h, t, t], 0, 2, 'float32', seed)),
  ) as tf.Tensor4D;
}

function expectedFor(attention: tf.Tensor4D[], opts = {}): tf.Tensor3D {
  const b = attention[0].shape[0];
  const arrays = attention.map((a) => a.arraySync());
  return tf.tensor3d(
    Array.from({ length: b }, (_, i) =>
      rolloutByLoops(
        arrays.map((a) => a[i]),
        opts,
      ),
    ),
  );
}

function diagnose(got: unknown, attention: tf.Tensor4D[]): string | undefined {
  if (!(got instanceof tf.Tensor)) return undefined;
  const same = (t: tf.Tensor) =>
    got.size === t.size && describeMismatch(got, t, { atol: 1e-5 }) === null;
  if (same(expectedFor(attention, { order: 'wrong' }))) {
    return 'the layers are multiplied in the wrong order: the first layer acts first, so R = A_L ... A_2 A_1 (a new layer multiplies from the LEFT: tf.matMul(A_l, R))';
  }
  if (same(expectedFor(attention, { residual: false }))) {
    return 'add the identity for the residual connection (and renormalise the rows) before multiplying';
  }
  const rows = tf.sum(got, -1).dataSync();
  if (rows.some((v) => Math.abs(v - 1) > 1e-4)) {
    return `every row must sum to 1 (a row sums to ${rows.find((v) => Math.abs(v - 1) > 1e-4)?.toFixed(3)}): renormalise each layer's rows after adding I, with tf.sum(x, -1, true)`;
  }
  return undefined;
}

const describeCall = (attention: tf.Tensor4D[]) =>
  `attentionRollout([${attention.map((a) => `[${a.shape.join(', ')}]`).join(', ')}])`;

function agrees(
  answer: typeof Answers.attentionRollout,
  attention: tf.Tensor4D[],
  hint: string,
): void {
  const got = answer(attention);
  expectClose(got, expectedFor(attention), {
    call: describeCall(attention),
    atol: 1e-5,
    rtol: 1e-5,
    hint: diagnose(got, attention) ?? hint,
  });
}

export const rolloutSpec = defineExercise<typeof Answers>({
  chapter: '07-vision-transformer',
  exercise: 'rollout',
  reimplements: ['attentionRollout', 'classTokenRollout'],
  file: 'rollout.ts',
  title: 'Attention rollout',
  tests: [
    {
      name: 'identity attention in every layer gives the identity',
      points: 1,
      run({ attentionRollout }) {
        const eye = tf.eye(5).reshape([1, 1, 5, 5]).tile([2, 3, 1, 1]) as tf.Tensor4D;
        const got = attentionRollout([eye, eye]);
        expectClose(got, tf.eye(5).reshape([1, 5, 5]).tile([2, 1, 1]), {
          call: describeCall([eye, eye]) + ' with identity weights',
          atol: 1e-6,
          hint: 'average the heads, add I, renormalise: (I + I) / 2 = I, and I times I is I',
        });
      },
    },
    {
      name: 'a 2-layer case computed by hand',
      points: 2,
      run({ attentionRollout }) {
        // Layer 1 heads average to 0.5 everywhere -> (+I, renormalise) [[.75, .25], [.25, .75]];
        // layer 2 -> [[1, 0], [.5, .5]]; R = A2 A1 = [[.75, .25], [.5, .5]].
        const a1 = tf.tensor4d([
          [
            [
              [1, 0],
              [0.5, 0.5],
            ],
            [
              [0, 1],
              [0.5, 0.5],
            ],
          ],
        ]);
        const a2 = tf.tensor4d([
          [
            [
              [1, 0],
              [1, 0],
            ],
            [
              [1, 0],
              [1, 0],
            ],
          ],
        ]);
        const got = attentionRollout([a1, a2]);
        expectClose(
          got,
          tf.tensor3d([
            [
              [0.75, 0.25],
              [0.5, 0.5],
            ],
          ]),
          {
            call: 'attentionRollout([A1, A2]) (the hand-worked case of the exercise text)',
            atol: 1e-6,
            hint:
              diagnose(got, [a1, a2]) ??
              'per layer: mean over heads, + I, divide each row by its sum; then R = A2 A1',
          },
        );
      },
    },
    {
      name: 'matches a loop-based rollout (batch 2, 4 heads, 6 tokens, 3 layers)',
      points: 2,
      run({ attentionRollout }) {
        const layers = [1, 2, 3].map((s) => randomAttention(2, 4, 6, s));
        agrees(
          attentionRollout,
          layers,
          'R = A_3 A_2 A_1 with A_l = rownorm(mean_h(attention_l) + I)',
        );
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ attentionRollout }) {
        const layers = [4, 5].map((s) => randomAttention(1, 2, 3, s));
        const before = tf.memory().numTensors;
        attentionRollout(layers);
        const extra = tf.memory().numTensors - before - 1;
        check(
          extra <= 0,
          `attentionRollout left ${extra} intermediate tensor(s) besides its result. Hint: wrap the body in tf.tidy(() => ...)`,
        );
      },
    },
  ],
});
