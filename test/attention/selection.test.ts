import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  attentionEntropy,
  hardSelection,
  softSelection,
  temperatureSweep,
} from '../../src/attention/selection';
import { checkGradients, expectNoLeak, expectTensorsClose } from '../helpers/tensors';

describe('attentionEntropy', () => {
  it('is ln n for uniform weights over n items and 0 for one-hot weights', () => {
    for (const n of [1, 2, 5, 16]) {
      expectTensorsClose(attentionEntropy(tf.fill([n], 1 / n)), Math.log(n), { atol: 1e-5 });
    }
    const oneHot = attentionEntropy(
      tf.tensor2d([
        [0, 1, 0],
        [1, 0, 0],
      ]),
    );
    expectTensorsClose(oneHot, [0, 0]);
  });

  it('matches a hand computation and keeps the leading axes', () => {
    // -(0.5 ln 0.5 + 2 * 0.25 ln 0.25) = 0.5 ln 2 + ln 2 = 1.5 ln 2
    expectTensorsClose(attentionEntropy(tf.tensor1d([0.5, 0.25, 0.25])), 1.5 * Math.LN2);
    const w = tf.softmax(tf.randomNormal([2, 3, 4], 0, 1, 'float32', 3));
    const h = attentionEntropy(w);
    assert.deepEqual(h.shape, [2, 3]);
    const values = w.arraySync() as number[][][];
    const expected = values.map((rows) =>
      rows.map((row) => -row.reduce((a, p) => a + p * Math.log(p), 0)),
    );
    expectTensorsClose(h, expected, { atol: 1e-5 });
  });

  it('rejects negative, non-finite and non-float weights, and does not leak', async () => {
    assert.throws(
      () => attentionEntropy(tf.tensor1d([1.5, -0.5])),
      /weights: expected non-negative values \(probabilities\), got -0\.5/,
    );
    assert.throws(
      () => attentionEntropy(tf.tensor1d([NaN, 1])),
      /weights: expected finite values, got NaN/,
    );
    assert.throws(
      () => attentionEntropy(tf.tensor1d([1], 'int32')),
      /weights: expected dtype float32, got int32/,
    );
    assert.throws(
      () => attentionEntropy(tf.scalar(1)),
      /weights: expected a non-empty tensor \[\.\.\., S\], got shape \[\]/,
    );
    const w = tf.tensor2d([
      [0.2, 0.8],
      [1, 0],
    ]);
    await expectNoLeak(() => attentionEntropy(w).dispose());
    w.dispose();
  });
});

describe('hardSelection', () => {
  const values = () =>
    tf.tensor2d([
      [1, 10],
      [2, 20],
      [3, 30],
    ]); // [S = 3, D = 2]

  it('picks the value with the highest score as a one-hot weight vector', () => {
    const r = hardSelection(
      tf.tensor2d([
        [1, 3, 2],
        [5, 0, 0],
      ]),
      values(),
    );
    expectTensorsClose(r.weights, [
      [0, 1, 0],
      [1, 0, 0],
    ]);
    expectTensorsClose(r.output, [
      [2, 20],
      [1, 10],
    ]);
  });

  it('breaks ties towards the first item, and accepts per-row values [B, S, D]', () => {
    const v = tf.tensor3d([
      [[1], [2]],
      [[3], [4]],
    ]); // [B = 2, S = 2, D = 1]
    const r = hardSelection(
      tf.tensor2d([
        [7, 7],
        [0, 1],
      ]),
      v,
    );
    expectTensorsClose(r.weights, [
      [1, 0],
      [0, 1],
    ]);
    expectTensorsClose(r.output, [[1], [4]]);
  });

  it('rejects inconsistent shapes by name and does not leak', async () => {
    assert.throws(
      () => hardSelection(tf.tensor2d([[1, 2]]), values()),
      /values: expected shape \[S, D\] with S = 2 \(from scores\), got \[3, 2\]/,
    );
    assert.throws(
      () => hardSelection(tf.tensor2d([[1, 2, 3]]), tf.ones([2, 3, 1])),
      /values: expected shape \[B, S, D\] with B = 1 \(from scores\), got \[2, 3, 1\]/,
    );
    assert.throws(
      () => hardSelection(tf.tensor1d([1, 2]) as never, values()),
      /scores: expected rank 2 \[B, S\], got rank 1/,
    );
    const s = tf.tensor2d([[1, 2, 3]]);
    const v = values();
    await expectNoLeak(() => tf.dispose(Object.values(hardSelection(s, v))));
    tf.dispose([s, v]);
  });
});

describe('softSelection', () => {
  it('averages the values with softmax weights (hand computation)', () => {
    // softmax([0, ln 3]) = [1/4, 3/4]
    const r = softSelection(
      tf.tensor2d([[0, Math.log(3)]]),
      tf.tensor2d([
        [4, 0],
        [0, 8],
      ]),
    );
    expectTensorsClose(r.weights, [[0.25, 0.75]]);
    expectTensorsClose(r.output, [[1, 6]]);
  });

  it('approaches hard selection as tau -> 0 and the plain mean as tau -> infinity', () => {
    const scores = tf.tensor2d([
      [0.3, 1.2, -0.5],
      [2, 1, 0],
    ]);
    const v = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 7);
    expectTensorsClose(softSelection(scores, v, 1e-3).output, hardSelection(scores, v).output, {
      atol: 1e-4,
    });
    expectTensorsClose(softSelection(scores, v, 1e6).output, tf.mean(v, 1), { atol: 1e-4 });
  });

  it('is stable for huge scores', () => {
    const r = softSelection(tf.tensor2d([[1000, 1000 + Math.log(3)]]), tf.tensor2d([[0], [4]]));
    expectTensorsClose(r.output, [[3]], { atol: 1e-4 });
  });

  it('has finite-difference gradients with respect to the scores', () => {
    const s = tf.tensor2d([[0.2, -0.1, 0.4]]);
    const v = tf.tensor2d([
      [1, 0],
      [0, 2],
      [-1, 1],
    ]);
    checkGradients((x) => tf.sum(softSelection(x as tf.Tensor2D, v, 0.8).output), [s]);
  });

  it('rejects a bad temperature and does not leak', async () => {
    const s = tf.tensor2d([[1, 2]]);
    const v = tf.tensor2d([[1], [2]]);
    assert.throws(
      () => softSelection(s, v, 0),
      /temperature: expected a finite number > 0, got number 0/,
    );
    await expectNoLeak(() => tf.dispose(Object.values(softSelection(s, v, 2))));
    tf.dispose([s, v]);
  });
});

describe('temperatureSweep', () => {
  it('gives one softmax row per temperature, with its entropy', () => {
    const r = temperatureSweep(tf.tensor1d([0, 1]), [1, 2]);
    const e = Math.E;
    const q = Math.sqrt(e);
    expectTensorsClose(r.weights, [
      [1 / (1 + e), e / (1 + e)],
      [1 / (1 + q), q / (1 + q)],
    ]);
    const h = (p: number) => -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    expectTensorsClose(r.entropy, [h(1 / (1 + e)), h(1 / (1 + q))]);
    assert.deepEqual(r.temperatures, [1, 2]);
  });

  it('goes from one-hot (entropy 0) to uniform (entropy ln S), never decreasing', () => {
    const taus = [0.01, 0.1, 0.3, 1, 3, 10, 1000];
    const r = temperatureSweep(tf.tensor1d([1.5, 1, 1, 0.5, 0.5, 0.5]), taus);
    const h = Array.from(r.entropy.dataSync());
    assert.ok(h[0] < 1e-3, `entropy at tau 0.01: ${h[0]}`);
    assert.ok(
      Math.abs(h[h.length - 1] - Math.log(6)) < 1e-4,
      `entropy at tau 1000: ${h[h.length - 1]}`,
    );
    h.slice(1).forEach((v, i) => assert.ok(v >= h[i] - 1e-6, `entropy fell from ${h[i]} to ${v}`));
  });

  it('rejects bad temperatures and does not leak', async () => {
    const s = tf.tensor1d([1, 2, 3]);
    assert.throws(
      () => temperatureSweep(s, []),
      /temperatures: expected a non-empty array of numbers > 0/,
    );
    assert.throws(
      () => temperatureSweep(s, [1, -1]),
      /temperatures\[1\]: expected a finite number > 0, got number -1/,
    );
    await expectNoLeak(() => {
      const r = temperatureSweep(s, [0.5, 1]);
      tf.dispose([r.weights, r.entropy]);
    });
    s.dispose();
  });
});
