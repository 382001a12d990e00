// The profile's arithmetic of matrix products: FLOPs from shapes, checked against hand-counted
// cases, and against a real profiled step whose products are known.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { formatProducts, productFlops, profileStep } from '../../tools/bench/profile';

describe('bench profile: matrix products', () => {
  // [label, a shape, output shape, FLOPs counted by hand: 2 * slices * M * K * N]
  const cases: Array<[string, number[], number[], number]> = [
    ['2-D', [3, 5], [3, 7], 2 * 3 * 5 * 7],
    ['a transposed ([K, M] -> M = 4)', [6, 4], [4, 2], 2 * 4 * 6 * 2],
    ['batched', [8, 25, 8], [8, 25, 25], 2 * 8 * 25 * 8 * 25],
    ['a shared by a batch', [1, 3, 4], [5, 3, 2], 2 * 5 * 3 * 4 * 2],
    ['empty output', [0, 5], [0, 3], 0],
  ];
  for (const [label, aShape, outShape, flops] of cases) {
    it(`counts 2 M K N per slice: ${label}`, () => {
      assert.equal(productFlops(aShape, outShape), flops);
    });
  }

  it('names both shapes when one has rank below 2', () => {
    assert.throws(
      () => productFlops([3], [3, 4]),
      /productFlops: expected operand and output shapes of rank >= 2, got \[3\] and \[3, 4\]/,
    );
  });

  it('sums the products of a profiled step and states their floor', async () => {
    const a = tf.ones([32, 16]);
    const b = tf.ones([16, 8]);
    // [32, 16] x [16, 8] and [16, 8]^T x [32, 16]^T: 8,192 multiply-adds each.
    const profile = await profileStep(() => [tf.matMul(a, b), tf.matMul(b, a, true, true)]);
    assert.equal(profile.products.calls, 2);
    assert.equal(profile.products.flops, 2 * (2 * 32 * 16 * 8));
    assert.ok(profile.products.ms <= profile.kernelMs);
    assert.match(formatProducts(profile), /^matrix products: 2 calls, 0\.00 GFLOP in /);
    tf.dispose([a, b]);
  });
});
