/**
 * The defects found by issue 13's independent cross-check, one test each (defect 3, non-finite
 * weights in `Linear`, is also covered in test/core/linear.test.ts).
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { nadarayaWatson } from '../../src/attention/kernel-regression';
import { LocalPAttention } from '../../src/attention/local';
import { MultiHeadAttention } from '../../src/attention/multihead';
import {
  AdditiveAttention,
  additiveScores,
  dotScores,
  LuongConcatAttention,
  LuongGeneralAttention,
  scaledDotScores,
} from '../../src/attention/scoring';
import { maskedSoftmax } from '../../src/attention/softmax';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

describe('issue 13 cross-check: maskedSoftmax with scores below any fill value', () => {
  it('keeps the kept keys of [-1e35, -1e35, 0] (valid length 2) at [0.5, 0.5, 0]', () => {
    // Hand computation: the two kept scores are equal, so each gets 1/2; the hidden one gets 0.
    const scores = tf.tensor3d([[[-1e35, -1e35, 0]]]);
    const w = maskedSoftmax(scores, { validLens: tf.tensor1d([2], 'int32') });
    expectTensorsClose(w, [[[0.5, 0.5, 0]]], { atol: 1e-6 });
    // The same through a bool mask and through an additive -Infinity mask.
    const keep = tf.tensor3d([[[true, true, false]]], [1, 1, 3], 'bool');
    expectTensorsClose(maskedSoftmax(scores, { mask: keep }), [[[0.5, 0.5, 0]]], { atol: 1e-6 });
    const additive = tf.tensor3d([[[0, 0, -Infinity]]]);
    expectTensorsClose(maskedSoftmax(scores, { mask: additive }), [[[0.5, 0.5, 0]]], {
      atol: 1e-6,
    });
  });

  it('has finite gradients, hand-computed, and all-zero fully hidden rows', async () => {
    // Row 0 keeps two equal scores (w = [1/2, 1/2, 0]); row 1 hides every key.
    // d/dx_i sum_j c_j w_j = w_i (c_i - sum_j c_j w_j) with c = [1, 2, 3]: [-1/4, 1/4, 0].
    const scores = tf.tensor3d([[[-1e35, -1e35, 0]], [[1, 2, 3]]]);
    const validLens = tf.tensor1d([2, 0], 'int32');
    const c = tf.tensor1d([1, 2, 3]);
    const w = maskedSoftmax(scores, { validLens });
    expectTensorsClose(w, [[[0.5, 0.5, 0]], [[0, 0, 0]]], { atol: 1e-6 });
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(maskedSoftmax(x, { validLens }), c)))(scores);
    assert.ok(Array.from(g.dataSync()).every(Number.isFinite), `gradient ${g.dataSync()}`);
    expectTensorsClose(g, [[[-0.25, 0.25, 0]], [[0, 0, 0]]], { atol: 1e-6 });
    await expectNoLeak(() => {
      tf.dispose([
        maskedSoftmax(scores, { validLens }),
        tf.grad((x: tf.Tensor) => tf.sum(maskedSoftmax(x, { validLens })))(scores),
      ]);
    });
  });
});

describe('issue 13 cross-check: MultiHeadAttention key valid lengths', () => {
  const x = tf.zeros([2, 3, 8]);
  const mha = new MultiHeadAttention({ dModel: 8, numHeads: 2 });
  after(() => mha.dispose());

  it('names validLens when its batch size is not the query batch size', () => {
    assert.throws(
      () => mha.apply(x, x, x, { validLens: tf.tensor1d([1, 2, 3], 'int32') }),
      /validLens: expected shape \[B\] = \[2\] or \[B, T\] = \[2, 3\], got \[3\]/,
    );
    assert.throws(
      () => mha.apply(x, x, x, { validLens: tf.zeros([3, 3], 'int32') }),
      /validLens: expected shape \[B\] = \[2\] or \[B, T\] = \[2, 3\], got \[3, 3\]/,
    );
  });

  it('accepts per-query key lengths [B, T], equal to the [B] form when rows repeat', () => {
    const q = tf.randomNormal([2, 3, 8], 0, 1, 'float32', 3);
    const byBatch = mha.apply(q, q, q, { validLens: tf.tensor1d([1, 3], 'int32') });
    const byQuery = mha.apply(q, q, q, {
      validLens: tf.tensor2d(
        [
          [1, 1, 1],
          [3, 3, 3],
        ],
        [2, 3],
        'int32',
      ),
    });
    expectTensorsClose(byQuery.weights, byBatch.weights, { atol: 1e-6 });
    expectTensorsClose(byQuery.output, byBatch.output, { atol: 1e-6 });
    // Hand check: with length 1 every query of row 0 puts all its weight on key 0.
    expectTensorsClose(
      byBatch.weights.slice([0, 0, 0, 0], [1, 2, 3, 3]),
      tf.tensor4d(Array.from({ length: 6 }, () => [1, 0, 0]).flat(), [1, 2, 3, 3]),
    );
  });
});

describe('issue 13 cross-check: non-finite weights are rejected', () => {
  it('MultiHeadAttention.setWeights names the weight holding NaN', () => {
    const mha = new MultiHeadAttention({ dModel: 4, numHeads: 2 });
    const eye = tf.eye(4);
    const bad = tf.tensor2d([NaN, ...Array<number>(15).fill(0)], [4, 4]);
    assert.throws(
      () => mha.setWeights({ wQ: eye, wK: bad, wV: eye, wO: eye }),
      /wK: expected finite values, got NaN at flat index 0/,
    );
    assert.throws(
      () =>
        mha.setWeights({
          wQ: eye,
          wK: eye,
          wV: eye,
          wO: eye,
          bO: tf.tensor1d([0, Infinity, 0, 0]),
        }),
      /bO: expected finite values, got Infinity at flat index 1/,
    );
    // Nothing was loaded from a rejected call: the weights are still finite.
    const out = mha.apply(tf.ones([1, 2, 4]), tf.ones([1, 2, 4]), tf.ones([1, 2, 4])).output;
    assert.ok(Array.from(out.dataSync()).every(Number.isFinite));
    mha.dispose();
  });
});

describe('issue 13 cross-check: additiveScores checks its inputs like the other scores', () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      'q',
      () => additiveScores(tf.fill([1, 2, 3], NaN), tf.zeros([1, 2, 3]), tf.zeros([3])),
      /q: expected finite values, got NaN/,
    ],
    [
      'k',
      () => additiveScores(tf.zeros([1, 2, 3]), tf.fill([1, 2, 3], NaN), tf.zeros([3])),
      /k: expected finite values, got NaN/,
    ],
    [
      'v',
      () => additiveScores(tf.zeros([1, 2, 3]), tf.zeros([1, 2, 3]), tf.fill([3], NaN)),
      /v: expected finite values, got NaN/,
    ],
  ];
  for (const [name, thunk, message] of cases) {
    it(`rejects NaN in ${name}`, () => assert.throws(thunk, message));
  }

  it('as dotScores and scaledDotScores do', () => {
    const nan = tf.fill([1, 2, 3], NaN);
    assert.throws(() => dotScores(nan, tf.zeros([1, 2, 3])), /query: expected finite values/);
    assert.throws(() => scaledDotScores(nan, tf.zeros([1, 2, 3])), /query: expected finite values/);
  });
});

describe('issue 13 cross-check: layer constructors name the config field', () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      'AdditiveAttention queryDim',
      () => new AdditiveAttention({ queryDim: 0, keyDim: 4, hiddenDim: 2 }),
      /^RangeError: queryDim: expected an integer >= 1, got number 0/,
    ],
    [
      'AdditiveAttention keyDim',
      () => new AdditiveAttention({ queryDim: 4, keyDim: 1.5, hiddenDim: 2 }),
      /^RangeError: keyDim: expected an integer >= 1, got number 1.5/,
    ],
    [
      'LuongGeneralAttention queryDim',
      () => new LuongGeneralAttention({ queryDim: -1, keyDim: 4 }),
      /^RangeError: queryDim: expected an integer >= 1, got number -1/,
    ],
    [
      'LuongGeneralAttention keyDim',
      () => new LuongGeneralAttention({ queryDim: 4, keyDim: 0 }),
      /^RangeError: keyDim: expected an integer >= 1, got number 0/,
    ],
    [
      'LuongConcatAttention hiddenDim',
      () => new LuongConcatAttention({ queryDim: 4, keyDim: 4, hiddenDim: 0 }),
      /^RangeError: hiddenDim: expected an integer >= 1, got number 0/,
    ],
    [
      'LocalPAttention queryDim',
      () => new LocalPAttention({ queryDim: 0, keyDim: 4, hiddenDim: 2, window: 1 }),
      /^RangeError: queryDim: expected an integer >= 1, got number 0/,
    ],
    [
      'LocalPAttention keyDim',
      () => new LocalPAttention({ queryDim: 4, keyDim: 0, hiddenDim: 2, window: 1 }),
      /^RangeError: keyDim: expected an integer >= 1, got number 0/,
    ],
    [
      'MultiHeadAttention dModel',
      () => new MultiHeadAttention({ dModel: 0, numHeads: 1 }),
      /^RangeError: dModel: expected an integer >= 1, got number 0/,
    ],
  ];
  for (const [what, thunk, message] of cases) {
    it(`${what}`, () => {
      const before = tf.memory().numTensors;
      assert.throws(thunk, (e: unknown) => {
        assert.match(String(e), message);
        return true;
      });
      assert.equal(tf.memory().numTensors, before, 'a rejected constructor left tensors behind');
    });
  }
});

describe('issue 13 cross-check: nadarayaWatson with a tiny width', () => {
  it('explains the failure in terms of width, not an internal tensor', () => {
    // Distances of 1 with h = 1e-25: (1 / 1e-25)^2 = 1e50 is beyond float32 (max ~3.4e38).
    const x = tf.tensor1d([0, 1, 2]);
    assert.throws(
      () => nadarayaWatson(x, x, x, { width: 1e-25 }),
      (e: unknown) => {
        const msg = String(e);
        assert.match(msg, /^RangeError: width: /);
        assert.doesNotMatch(msg, /scores/);
        assert.match(msg, /too small/);
        return true;
      },
    );
    assert.throws(
      () => nadarayaWatson(x, x, x, { width: tf.scalar(1e-25), excludeSelf: true }),
      /^RangeError: width: /,
    );
  });

  it('still works for a small width that float32 can represent (nearest neighbour)', () => {
    // h = 1e-3 with keys 1 apart: each query sits on a key, whose weight is 1 (exp(-5e5) = 0).
    const x = tf.tensor1d([0, 1, 2]);
    const { weights } = nadarayaWatson(x, x, tf.tensor1d([5, 6, 7]), { width: 1e-3 });
    expectTensorsClose(weights, tf.eye(3), { atol: 1e-6 });
  });
});
