import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Linear } from '../../src/core/linear';
import { expectTensorsClose } from '../helpers/tensors';

describe('Linear', () => {
  it('computes x W + b (hand-computed) after setWeights', () => {
    const layer = new Linear({ inFeatures: 2, outFeatures: 1 });
    layer.setWeights(tf.tensor2d([[2], [3]]), tf.tensor1d([1]));
    // [1, 1] . [2, 3] + 1 = 6
    expectTensorsClose(layer.apply(tf.tensor2d([[1, 1]])), [[6]]);
    layer.dispose();
  });

  it('rejects non-finite weights and biases, naming them, and keeps the old weights', () => {
    const layer = new Linear({ inFeatures: 2, outFeatures: 2 });
    const before = layer.weight.arraySync();
    assert.throws(
      () =>
        layer.setWeights(
          tf.tensor2d([
            [1, NaN],
            [0, 1],
          ]),
        ),
      /^RangeError: Linear\.setWeights: weight: expected finite values, got NaN at flat index 1 of shape \[2, 2\]/,
    );
    assert.throws(
      () => layer.setWeights(tf.eye(2), tf.tensor1d([-Infinity, 0])),
      /^RangeError: Linear\.setWeights: bias: expected finite values, got -Infinity at flat index 0/,
    );
    assert.deepEqual(layer.weight.arraySync(), before);
    layer.dispose();
  });
});
