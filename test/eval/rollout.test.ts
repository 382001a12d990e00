import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attentionRollout, classTokenRollout } from '../../src/eval/rollout';
import { expectNoLeak } from '../helpers/tensors';

function take(t: tf.Tensor): unknown {
  const v = t.arraySync();
  t.dispose();
  return v;
}

/** The flat values of a tensor the test made, which it then frees. */
function flat(t: tf.Tensor): number[] {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

function close(got: number[][][], want: number[][][], tol = 1e-6): void {
  got.flat(2).forEach((g, i) => {
    const w = want.flat(2)[i];
    assert.ok(Math.abs(g - w) <= tol, `element ${i}: got ${g}, expected ${w}`);
  });
}

describe('attention rollout (Abnar & Zuidema, 2020)', () => {
  it('identity attention in every layer gives the identity', async () => {
    await expectNoLeak(() => {
      const eye = tf.tidy(() => tf.eye(4).reshape([1, 1, 4, 4]).tile([2, 3, 1, 1]));
      const r = attentionRollout([eye, eye, eye]);
      close(
        r.arraySync(),
        [0, 1].map(() => [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? 1 : 0)))),
      );
      tf.dispose([eye, r]);
    });
  });

  it('uniform attention: uniform rows without the residual; (1/2)^L I + (1 - (1/2)^L) U with it', async () => {
    await expectNoLeak(() => {
      const u = tf.fill([1, 2, 3, 3], 1 / 3);
      const plain = attentionRollout([u, u], { residual: false });
      close(plain.arraySync(), [
        [
          [1 / 3, 1 / 3, 1 / 3],
          [1 / 3, 1 / 3, 1 / 3],
          [1 / 3, 1 / 3, 1 / 3],
        ],
      ]);
      // With the residual each layer is (U + I) / 2; two layers: I/4 + 3U/4 (U U = U, U I = U).
      const d = 1 / 4 + 3 / 4 / 3;
      const o = 3 / 4 / 3;
      close(take(attentionRollout([u, u])) as number[][][], [
        [
          [d, o, o],
          [o, d, o],
          [o, o, d],
        ],
      ]);
      tf.dispose([u, plain]);
    });
  });

  it('a hand-computed 2-layer case: heads averaged, + I, rows renormalised, R = A2 A1', async () => {
    await expectNoLeak(() => {
      // Layer 1: heads [[1,0],[.5,.5]] and [[0,1],[.5,.5]] -> mean .5 everywhere -> A1 = [[.75,.25],[.25,.75]].
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
      // Layer 2: both heads [[1,0],[1,0]] -> + I = [[2,0],[1,1]] -> A2 = [[1,0],[.5,.5]].
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
      // A2 A1 = [[.75,.25],[.5,.5]]; the wrong order A1 A2 would give [[.875,.125],[.625,.375]].
      const r = attentionRollout([a1, a2]);
      close(r.arraySync(), [
        [
          [0.75, 0.25],
          [0.5, 0.5],
        ],
      ]);
      tf.dispose([a1, a2, r]);
    });
  });

  it('every row of a random rollout sums to 1; the class-token map over the grid too', async () => {
    await expectNoLeak(() => {
      const layers = [1, 2, 3].map((s) =>
        tf.tidy(() => tf.softmax(tf.randomNormal([2, 4, 5, 5], 0, 2, 'float32', s))),
      );
      const r = attentionRollout(layers);
      flat(r.sum(-1)).forEach((v) => assert.ok(Math.abs(v - 1) < 1e-5, `row sum ${v}`));
      const grid = classTokenRollout(layers, 2);
      assert.deepEqual(grid.shape, [2, 2, 2]);
      flat(grid.sum([1, 2])).forEach((v) => assert.ok(Math.abs(v - 1) < 1e-5));
      // The map is row 0 of the rollout without column 0, renormalised.
      const row = r.arraySync()[1][0].slice(1);
      const total = row.reduce((a, b) => a + b, 0);
      close(
        [grid.arraySync()[1]],
        [[row.slice(0, 2).map((v) => v / total), row.slice(2).map((v) => v / total)]],
        1e-5,
      );
      tf.dispose([...layers, r, grid]);
    });
  });

  it('names a bad argument', () => {
    const a = tf.zeros([1, 2, 3, 3]);
    const b = tf.zeros([1, 2, 4, 4]);
    assert.throws(
      () => attentionRollout([]),
      /attentionRollout: attention: expected a non-empty array/,
    );
    assert.throws(() => attentionRollout([a, b]), /attention\[1\]: expected shape \[B, H, T, T\]/);
    assert.throws(() => classTokenRollout([a], 3), /gridSize\^2 = 9/);
    tf.dispose([a, b]);
  });
});
