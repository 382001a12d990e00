import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Dropout } from '../../src/core/dropout';
import { Module } from '../../src/core/module';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

/** The next `n` outputs of `layer` on a ones vector of length `size`, as plain arrays. */
function draws(layer: Dropout, n: number, size = 64): number[][] {
  return tf.tidy(() => {
    const ones = tf.ones([size]);
    return Array.from({ length: n }, () => Array.from(layer.apply(ones).dataSync()));
  });
}

describe('Dropout', () => {
  it('draws the same masks in the same order for the same seed, and other masks for another', () => {
    const a = draws(new Dropout({ rate: 0.5, seed: 7 }), 3);
    const b = draws(new Dropout({ rate: 0.5, seed: 7 }), 3);
    const c = draws(new Dropout({ rate: 0.5, seed: 8 }), 3);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a[0], a[1], 'consecutive masks of one layer must differ');
    assert.notDeepEqual(a[0], c[0], 'another seed must give another mask');
  });

  it('keeps 1 - rate of the units, scaled by 1 / (1 - rate), so the mean is unchanged', () => {
    const rate = 0.3;
    const layer = new Dropout({ rate, seed: 1 });
    const n = 20000;
    const y = tf.tidy(() => layer.apply(tf.ones([n])).dataSync());
    let zeros = 0;
    let sum = 0;
    for (const v of y) {
      if (v === 0) zeros += 1;
      else assert.ok(Math.abs(v - 1 / (1 - rate)) < 1e-6, `a kept unit is ${v}, not 1 / 0.7`);
      sum += v;
    }
    // binomial: the zero fraction has std sqrt(0.3 * 0.7 / n) = 0.0032, the mean std 0.0046
    assert.ok(Math.abs(zeros / n - rate) < 0.015, `zero fraction ${zeros / n}, expected 0.3`);
    assert.ok(Math.abs(sum / n - 1) < 0.02, `mean ${sum / n}, expected 1`);
  });

  it('is the identity in eval mode (set from a parent module) and with rate 0, drawing no mask', () => {
    class Net extends Module {
      readonly drop = new Dropout({ rate: 0.9, seed: 3 });
    }
    const net = new Net().eval();
    const x = tf.tensor2d([
      [1, -2, 3],
      [4, 5, -6],
    ]);
    const y = net.drop.apply(x);
    expectTensorsClose(y, x);
    const z = new Dropout({ rate: 0 }).apply(x);
    expectTensorsClose(z, x);
    // eval drew nothing: back in training mode, the first mask is the seed's first mask
    net.train();
    assert.deepEqual(draws(net.drop, 1), draws(new Dropout({ rate: 0.9, seed: 3 }), 1));
    tf.dispose([x, y, z]);
  });

  it('has gradient mask / (1 - rate), inside tf.grad, without reading any tensor back', () => {
    const rate = 0.4;
    const x = tf.tensor2d([
      [0.5, -1, 2, 3],
      [1, 1, -2, 0.25],
    ]);
    const up = tf.tensor2d([
      [1, 2, 3, 4],
      [-1, 0.5, 2, -3],
    ]);
    // the scaled mask this seed draws first, seen on ones
    const scaledMask = tf.tidy(() => new Dropout({ rate, seed: 11 }).apply(tf.onesLike(x)));
    const layer = new Dropout({ rate, seed: 11 });
    const original = tf.Tensor.prototype.dataSync;
    let reads = 0;
    tf.Tensor.prototype.dataSync = function (this: tf.Tensor) {
      reads += 1;
      return original.call(this);
    } as typeof original;
    let grad: tf.Tensor;
    try {
      grad = tf.grad((xs: tf.Tensor) => tf.sum(tf.mul(layer.apply(xs), up)))(x);
    } finally {
      tf.Tensor.prototype.dataSync = original;
    }
    assert.equal(reads, 0, 'Dropout.apply read a tensor back to the host');
    const expected = tf.mul(up, scaledMask);
    expectTensorsClose(grad, expected);
    const m = scaledMask.dataSync();
    assert.ok(m.some((v) => v === 0) && m.some((v) => v > 0), 'the mask should drop some units');
    tf.dispose([x, up, scaledMask, grad, expected]);
  });

  it('frees its mask: no tensor leaks in training or eval mode', async () => {
    const layer = new Dropout({ rate: 0.5, seed: 2 });
    const x = tf.ones([3, 4]);
    await expectNoLeak(() => layer.apply(x).dispose(), 'training');
    layer.eval();
    await expectNoLeak(() => layer.apply(x).dispose(), 'eval');
    x.dispose();
  });

  it('rejects a rate outside [0, 1) and bad inputs, naming the argument', () => {
    for (const rate of [1, -0.1, NaN, '0.5']) {
      assert.throws(
        () => new Dropout({ rate: rate as number }),
        /^RangeError: rate: expected a number in \[0, 1\), got /,
      );
    }
    assert.throws(
      () => new Dropout({ rate: 0.1, seed: 1.5 }),
      /^RangeError: seed: expected an integer/,
    );
    const layer = new Dropout({ rate: 0.1 });
    assert.throws(
      () => layer.apply(undefined as never),
      /^TypeError: x: expected a tf.Tensor, got undefined/,
    );
    assert.throws(
      () => layer.apply(tf.ones([2], 'int32')),
      /^TypeError: x: expected dtype float32, got int32/,
    );
  });
});
