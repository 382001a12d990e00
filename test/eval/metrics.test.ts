import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { exactMatch, tokenAccuracy } from '../../src/eval/metrics';
import { expectNoLeak } from '../helpers/tensors';

// Hand-worked batch (pad id 0). Row 0 has real tokens [1, 2] and gets [1, 1]: one of two right.
// Row 1 has real tokens [2, 2] and gets both right; its padding is predicted wrong (1 for 0).
const TARGETS = [
  [1, 2, 0],
  [2, 2, 0],
];
const PREDICTIONS = [
  [1, 1, 2],
  [2, 2, 1],
];

/** Logits whose argmax is `ids` (V = 3): a one-hot times 5 plus a small ramp. */
function logitsFor(ids: number[][]): tf.Tensor3D {
  return tf.tidy(() =>
    tf.add(
      tf.mul(tf.oneHot(tf.tensor2d(ids, undefined, 'int32'), 3), 5),
      tf.tensor1d([0.1, 0.2, 0.3]),
    ),
  ) as tf.Tensor3D;
}

describe('tokenAccuracy and exactMatch', () => {
  it('count only real tokens, by padId (hand-computed: 3/4 tokens, 1/2 sequences)', async () => {
    await expectNoLeak(() => {
      const targets = tf.tensor2d(TARGETS, undefined, 'int32');
      const ids = tf.tensor2d(PREDICTIONS, undefined, 'int32');
      const logits = logitsFor(PREDICTIONS);
      for (const p of [ids, logits, PREDICTIONS]) {
        assert.equal(tokenAccuracy(p, targets, { padId: 0 }), 3 / 4);
        assert.equal(exactMatch(p, targets, { padId: 0 }), 1 / 2);
      }
      tf.dispose([targets, ids, logits]);
    });
  });

  it('count every position with no mask (3/6 tokens, 0/2 sequences)', () => {
    assert.equal(tokenAccuracy(PREDICTIONS, TARGETS), 3 / 6);
    assert.equal(exactMatch(PREDICTIONS, TARGETS), 0);
  });

  it('use validLens (row 0 keeps 1 token, row 1 all 3: 3/4 tokens, 1/2 sequences)', () => {
    const validLens = tf.tensor1d([1, 3], 'int32');
    assert.equal(tokenAccuracy(PREDICTIONS, TARGETS, { validLens }), 3 / 4);
    assert.equal(exactMatch(PREDICTIONS, TARGETS, { validLens }), 1 / 2);
    // a row with no real token is left out of exact match; none at all gives NaN
    assert.equal(exactMatch(PREDICTIONS, TARGETS, { validLens: [0, 2] }), 1);
    assert.ok(Number.isNaN(tokenAccuracy(PREDICTIONS, TARGETS, { validLens: [0, 0] })));
    assert.ok(Number.isNaN(exactMatch(PREDICTIONS, TARGETS, { validLens: [0, 0] })));
    validLens.dispose();
  });

  it('reject mismatched or malformed inputs, naming them', () => {
    assert.throws(
      () => tokenAccuracy([[1, 2]], TARGETS),
      /^Error: predictions: expected shape \[B, T\] with B = 2 \(from targets\), got \[1, 2\]/,
    );
    assert.throws(
      () => exactMatch([[1, 2, 3], [1]], TARGETS),
      /^Error: predictions: expected rows of equal length 3 \(\[B, T\]\), got row 1 of length 1/,
    );
    assert.throws(
      () =>
        tokenAccuracy(PREDICTIONS, [
          [1, 2.5, 0],
          [0, 0, 0],
        ]),
      /^TypeError: targets: expected integer token ids, got 2.5 at \[0, 1\]/,
    );
    const floatTargets = tf.tensor2d(TARGETS);
    assert.throws(
      () => tokenAccuracy(PREDICTIONS, floatTargets),
      /^TypeError: targets: expected dtype int32, got float32/,
    );
    const flat = tf.tensor1d([1, 2, 0], 'int32');
    assert.throws(
      () => tokenAccuracy(flat, TARGETS),
      /^Error: predictions: expected logits \[B, T, V\] or token ids \[B, T\], got shape \[3\]/,
    );
    assert.throws(
      () => exactMatch(PREDICTIONS, TARGETS, { validLens: [1, 4] }),
      /^RangeError: validLens: expected integers in \[0, T\] = \[0, 3\], got 4 at index 1/,
    );
    tf.dispose([floatTargets, flat]);
  });
});
