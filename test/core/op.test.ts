import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention } from '../../src/attention/multihead';
import { scaledDotProductAttention } from '../../src/attention/pooling';
import { Linear } from '../../src/core/linear';
import { isOutermostOp, op, recordingGradient } from '../../src/core/op';
import { checkFinite } from '../../src/core/shapes';
import { expectNoLeak } from '../helpers/tensors';

describe('op(): checks once at the outermost call, names the function, tidies', () => {
  it('runs the checks of the outermost op only', () => {
    const calls: string[] = [];
    const inner = () =>
      op(
        'inner',
        () => calls.push('inner checks'),
        () => tf.scalar(1),
      );
    const outer = op(
      'outer',
      () => calls.push('outer checks'),
      () => {
        assert.equal(isOutermostOp(), false);
        return inner();
      },
    );
    assert.equal(outer.arraySync(), 1);
    inner().dispose();
    outer.dispose();
    assert.deepEqual(calls, ['outer checks', 'inner checks']);
    assert.equal(isOutermostOp(), true);
  });

  it('prefixes errors once with the outermost name, from checks and from the math', () => {
    assert.throws(
      () =>
        op(
          'f',
          () => {
            throw new RangeError('x: expected something');
          },
          () => tf.scalar(0),
        ),
      (err: Error) => err instanceof RangeError && err.message === 'f: x: expected something',
    );
    // a tfjs kernel error deep inside names the function the caller called
    assert.throws(
      () =>
        op(
          'outer',
          () => undefined,
          () =>
            op(
              'inner',
              () => undefined,
              () => tf.reshape(tf.zeros([15]), [2, 1, 1, 5]),
            ),
        ),
      /^Error: outer: Size\(15\) must match the product of shape 2,1,1,5/,
    );
    assert.equal(isOutermostOp(), true, 'depth restored after a throw');
  });

  it('frees the intermediates and keeps the result', async () => {
    const x = tf.ones([3]);
    const y = await expectNoLeak(() => {
      const r = op(
        'f',
        () => undefined,
        () => tf.mul(tf.add(x, 1), 2),
      );
      r.dispose();
    });
    assert.equal(y, undefined);
    x.dispose();
  });

  it('layers built from public functions validate once: a Linear inside sees no check', () => {
    // A NaN input is reported by the outermost layer with its own argument name, not by the
    // Linear inside (whose argument is called x).
    const mha = new MultiHeadAttention({ dModel: 4, numHeads: 2 });
    const x = tf.fill([1, 2, 4], NaN);
    assert.throws(
      () => mha.apply(tf.zeros([1, 2, 4]), tf.zeros([1, 2, 4]), x),
      /^RangeError: MultiHeadAttention\.apply: value: expected finite values, got NaN/,
    );
    mha.dispose();
  });
});

describe('finite checks: where values enter, not inside a training step', () => {
  it('reads nothing while a gradient is recorded, and still checks outside', () => {
    const bad = tf.tensor1d([NaN]);
    assert.throws(() => checkFinite(bad, 'x'), /x: expected finite values/);
    const seen: boolean[] = [];
    tf.grad((a: tf.Tensor) => {
      seen.push(recordingGradient());
      checkFinite(bad, 'x'); // would throw outside a gradient
      return tf.sum(a);
    })(tf.ones([2]));
    assert.deepEqual(seen, [true]);
    assert.equal(recordingGradient(), false);
  });

  it('a NaN input inside a training step shows in the loss instead of a host read', () => {
    const layer = new Linear({ inFeatures: 2, outFeatures: 1 });
    const x = tf.tensor2d([[1, NaN]]);
    assert.throws(() => layer.apply(x), /Linear\.apply: x: expected finite values, got NaN/);
    const { value, grads } = tf.variableGrads(() => tf.sum(layer.apply(x)) as tf.Scalar);
    assert.ok(Number.isNaN(value.arraySync()));
    tf.dispose([value, ...Object.values(grads), x]);
    layer.dispose();
  });

  it('shape checks still run inside a training step, naming the argument', () => {
    const q = tf.variable(tf.zeros([1, 2, 4]));
    assert.throws(
      () =>
        tf.variableGrads(
          () =>
            tf.sum(
              scaledDotProductAttention(q, tf.zeros([1, 3, 5]), tf.zeros([1, 3, 2])).output,
            ) as tf.Scalar,
          [q],
        ),
      /scaledDotProductAttention: key: expected shape \[B, S, D\] with D = 4 \(from query\), got \[1, 3, 5\]/,
    );
    q.dispose();
  });
});
