import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { scoreStatsByDim, softmaxSaturation } from '../../src/experiments/score-stats';
import { expectNoLeak } from '../helpers/tensors';

/** Plain-JS reference: softmax, max weight, entropy and Jacobian norm of one row. */
function rowReference(x: number[]): { max: number; entropy: number; jac: number } {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  const w = e.map((v) => v / z);
  const entropy = -w.reduce((a, v) => (v > 0 ? a + v * Math.log(v) : a), 0);
  // Frobenius norm of J[i][j] = w_i (delta_ij - w_j), entry by entry.
  let sq = 0;
  for (let i = 0; i < w.length; i++) {
    for (let j = 0; j < w.length; j++) sq += (w[i] * ((i === j ? 1 : 0) - w[j])) ** 2;
  }
  return { max: Math.max(...w), entropy, jac: Math.sqrt(sq) };
}

describe('softmaxSaturation', () => {
  it('matches hand computations for uniform, two-key and one-hot rows', () => {
    const uniform = softmaxSaturation(tf.zeros([2, 3, 4]));
    assert.equal(uniform.variance, 0);
    assert.ok(Math.abs(uniform.meanMaxWeight - 0.25) < 1e-6);
    assert.ok(Math.abs(uniform.meanEntropy - Math.log(4)) < 1e-5);
    assert.ok(Math.abs(uniform.meanJacobianNorm - Math.sqrt(3) / 4) < 1e-5);

    // scores [0, ln 3]: w = [1/4, 3/4]; every Jacobian entry is +-w1 w2 = 3/16, so the norm is 3/8.
    const two = softmaxSaturation(tf.tensor2d([[0, Math.log(3)]]));
    assert.ok(Math.abs(two.variance - (Math.log(3) / 2) ** 2) < 1e-6);
    assert.ok(Math.abs(two.meanMaxWeight - 0.75) < 1e-6);
    const h = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    assert.ok(Math.abs(two.meanEntropy - h) < 1e-6);
    assert.ok(Math.abs(two.meanJacobianNorm - 0.375) < 1e-6);

    const oneHot = softmaxSaturation(tf.tensor2d([[1000, 0, 0, -1000]]));
    assert.ok(Math.abs(oneHot.meanMaxWeight - 1) < 1e-6);
    assert.ok(Number.isFinite(oneHot.meanEntropy) && Math.abs(oneHot.meanEntropy) < 1e-5);
    assert.ok(Math.abs(oneHot.meanJacobianNorm) < 1e-3);
  });

  it('agrees with a plain-JS reference on random scores (averaged over rows)', () => {
    const scores = tf.mul(tf.randomNormal([3, 2, 5], 0, 1, 'float32', 7), 3);
    const rows = (scores.arraySync() as number[][][]).flat();
    const flat = rows.flat();
    const mean = flat.reduce((a, b) => a + b, 0) / flat.length;
    const variance = flat.reduce((a, v) => a + (v - mean) ** 2, 0) / flat.length;
    const refs = rows.map(rowReference);
    const avg = (f: (r: (typeof refs)[number]) => number) =>
      refs.reduce((a, r) => a + f(r), 0) / refs.length;
    const got = softmaxSaturation(scores);
    assert.ok(Math.abs(got.variance - variance) < 1e-4, `variance ${got.variance} vs ${variance}`);
    assert.ok(Math.abs(got.meanMaxWeight - avg((r) => r.max)) < 1e-5);
    assert.ok(Math.abs(got.meanEntropy - avg((r) => r.entropy)) < 1e-5);
    assert.ok(Math.abs(got.meanJacobianNorm - avg((r) => r.jac)) < 1e-5);
  });

  it('its Jacobian norm matches finite differences of tf.softmax', () => {
    const x = [0.3, -1.2, 2.0, 0.5];
    const eps = 1e-2;
    let sq = 0;
    for (let j = 0; j < x.length; j++) {
      const at = (d: number) =>
        tf.tidy(() => {
          const y = x.slice();
          y[j] += d;
          return Array.from(tf.softmax(tf.tensor1d(y)).dataSync());
        });
      const plus = at(eps);
      const minus = at(-eps);
      for (let i = 0; i < x.length; i++) sq += ((plus[i] - minus[i]) / (2 * eps)) ** 2;
    }
    const got = softmaxSaturation(tf.tensor1d(x)).meanJacobianNorm;
    assert.ok(Math.abs(got - Math.sqrt(sq)) < 1e-3, `analytic ${got} vs numeric ${Math.sqrt(sq)}`);
  });

  it('rejects bad scores by name', () => {
    assert.throws(() => softmaxSaturation([1, 2] as never), /scores: expected a tf\.Tensor/);
    assert.throws(
      () => softmaxSaturation(tf.tensor1d([1, 2], 'int32')),
      /scores: expected dtype float32, got int32/,
    );
    assert.throws(() => softmaxSaturation(tf.scalar(1)), /scores: expected a non-empty tensor/);
    assert.throws(
      () => softmaxSaturation(tf.tensor1d([1, NaN])),
      /scores: expected finite values, got NaN/,
    );
  });
});

describe('scoreStatsByDim', () => {
  it('measures Var(q . k) close to d, and close to 1 after dividing by sqrt(d)', () => {
    const dims = [2, 16, 128];
    const rows = scoreStatsByDim({ dims, numQueries: 1024, numKeys: 16, seed: 3 });
    assert.deepEqual(
      rows.map((r) => r.d),
      dims,
    );
    for (const r of rows) {
      // Relative standard error of the estimate is about sqrt(2/d)/32 + 1%; 12% is > 3 sigma.
      assert.ok(Math.abs(r.unscaled.variance / r.d - 1) < 0.12, `d ${r.d}: ${r.unscaled.variance}`);
      assert.ok(Math.abs(r.scaled.variance - 1) < 0.12, `d ${r.d}: scaled ${r.scaled.variance}`);
    }
  });

  it('shows the unscaled softmax saturating as d grows, and the scaled one not', () => {
    const rows = scoreStatsByDim({ dims: [4, 32, 256], numQueries: 512, seed: 1 });
    const [small, , large] = rows;
    for (let i = 1; i < rows.length; i++) {
      assert.ok(rows[i].unscaled.meanMaxWeight > rows[i - 1].unscaled.meanMaxWeight);
      assert.ok(rows[i].unscaled.meanEntropy < rows[i - 1].unscaled.meanEntropy);
    }
    assert.ok(large.unscaled.meanMaxWeight > 0.85, `${large.unscaled.meanMaxWeight}`);
    assert.ok(large.unscaled.meanJacobianNorm < 0.5 * large.scaled.meanJacobianNorm);
    // Scaled scores have unit variance at every width, so the softmax looks the same.
    assert.ok(Math.abs(large.scaled.meanMaxWeight - small.scaled.meanMaxWeight) < 0.04);
    assert.ok(Math.abs(large.scaled.meanEntropy - small.scaled.meanEntropy) < 0.1);
    // Entropy is between 0 (one-hot) and log S (uniform).
    for (const r of rows) {
      for (const s of [r.unscaled, r.scaled]) {
        assert.ok(s.meanEntropy > 0 && s.meanEntropy < Math.log(16));
      }
    }
  });

  it('is reproducible, and a width gives the same numbers whatever else is in the list', () => {
    const a = scoreStatsByDim({ dims: [8], numQueries: 64, seed: 5 });
    const b = scoreStatsByDim({ dims: [2, 8], numQueries: 64, seed: 5 });
    const c = scoreStatsByDim({ dims: [8], numQueries: 64, seed: 6 });
    assert.deepEqual(a[0], b[1]);
    assert.notEqual(a[0].unscaled.variance, c[0].unscaled.variance);
  });

  it('does not leak tensors', async () => {
    await expectNoLeak(() => scoreStatsByDim({ dims: [2, 4], numQueries: 8, numKeys: 3 }));
    const scores = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 2);
    await expectNoLeak(() => softmaxSaturation(scores), 'softmaxSaturation');
    scores.dispose();
  });

  it('rejects bad options by name', () => {
    assert.throws(() => scoreStatsByDim({ dims: [] }), /dims: expected at least one width/);
    assert.throws(
      () => scoreStatsByDim({ dims: [4, 2.5] }),
      /dims\[1\]: expected an integer >= 1, got number 2.5/,
    );
    assert.throws(
      () => scoreStatsByDim({ dims: [4], numKeys: 0 }),
      /numKeys: expected an integer >= 1, got number 0/,
    );
    assert.throws(() => scoreStatsByDim(undefined as never), /expected options \{ dims/);
  });
});
