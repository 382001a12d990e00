import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  makeRegressionData,
  regressionArrays,
  regressionTruth,
  type RegressionDataOptions,
} from '../../src/data/regression';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const variance = (xs: number[]): number => {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length;
};

describe('regression data y = 2 sin x + x + noise', () => {
  it('the truth is 2 sin x + x (hand-computed)', () => {
    assert.equal(regressionTruth(0), 0);
    assert.ok(Math.abs(regressionTruth(Math.PI / 2) - (2 + Math.PI / 2)) < 1e-12);
    assert.ok(Math.abs(regressionTruth(Math.PI) - Math.PI) < 1e-12);
  });

  it('has the documented defaults: 50 sorted training inputs in [0, 5], a 50-point grid 0..5', () => {
    const d = regressionArrays();
    assert.equal(d.xTrain.length, 50);
    assert.equal(d.yTrain.length, 50);
    assert.equal(d.xTest.length, 50);
    assert.equal(d.yTest.length, 50);
    d.xTrain.forEach((x, i) => {
      assert.ok(x >= 0 && x <= 5, `xTrain[${i}] = ${x} outside [0, 5]`);
      if (i > 0) assert.ok(x >= d.xTrain[i - 1], `xTrain not sorted at ${i}`);
    });
    assert.equal(d.xTest[0], 0);
    assert.equal(d.xTest[49], 5);
    assert.ok(Math.abs(d.xTest[1] - 5 / 49) < 1e-12);
    d.xTest.forEach((x, j) => assert.equal(d.yTest[j], 2 * Math.sin(x) + x));
  });

  it('is deterministic per seed, and different seeds give different data', () => {
    assert.deepEqual(regressionArrays({ seed: 3 }), regressionArrays({ seed: 3 }));
    assert.notDeepEqual(regressionArrays({ seed: 3 }).xTrain, regressionArrays({ seed: 4 }).xTrain);
    assert.deepEqual(regressionArrays(), regressionArrays({ seed: 0 }));
  });

  it('has the stated moments: x ~ U(0, xMax), y - f(x) ~ N(0, noiseStd^2)', () => {
    const n = 20000;
    const d = regressionArrays({ numTrain: n, xMax: 4, noiseStd: 0.3, seed: 11 });
    const residual = d.yTrain.map((y, i) => y - regressionTruth(d.xTrain[i]));
    // Tolerances are 5 standard errors: mean of U(0, 4) is 2 (sd 4/sqrt(12)), variance 16/12.
    assert.ok(
      Math.abs(mean(d.xTrain) - 2) < (5 * 4) / Math.sqrt(12 * n),
      `mean x ${mean(d.xTrain)}`,
    );
    assert.ok(Math.abs(variance(d.xTrain) - 16 / 12) < 0.05, `var x ${variance(d.xTrain)}`);
    assert.ok(Math.abs(mean(residual)) < (5 * 0.3) / Math.sqrt(n), `noise mean ${mean(residual)}`);
    const sd = Math.sqrt(variance(residual));
    assert.ok(Math.abs(sd - 0.3) < (5 * 0.3) / Math.sqrt(2 * n), `noise sd ${sd}`);
  });

  it('default noise has standard deviation 0.5, and noiseStd 0 gives the exact truth', () => {
    const d = regressionArrays({ numTrain: 20000, seed: 5 });
    const sd = Math.sqrt(variance(d.yTrain.map((y, i) => y - regressionTruth(d.xTrain[i]))));
    assert.ok(Math.abs(sd - 0.5) < 0.02, `noise sd ${sd}`);
    const clean = regressionArrays({ noiseStd: 0, seed: 5, numTrain: 7 });
    clean.xTrain.forEach((x, i) => assert.equal(clean.yTrain[i], regressionTruth(x)));
  });

  it('a single grid point sits at 0', () => {
    assert.deepEqual(regressionArrays({ numTest: 1 }).xTest, [0]);
  });

  it('gives float32 tensors holding the arrays, freed by dispose()', async () => {
    await expectNoLeak(() => {
      const d = makeRegressionData({ numTrain: 6, numTest: 4, seed: 2 });
      const a = d.arrays;
      assert.deepEqual(a, regressionArrays({ numTrain: 6, numTest: 4, seed: 2 }));
      expectTensorsClose(d.xTrain, a.xTrain, { label: 'xTrain' });
      expectTensorsClose(d.yTrain, a.yTrain, { label: 'yTrain' });
      expectTensorsClose(d.xTest, a.xTest, { label: 'xTest' });
      expectTensorsClose(d.yTest, a.yTest, { label: 'yTest' });
      for (const t of [d.xTrain, d.yTrain, d.xTest, d.yTest]) assert.equal(t.dtype, 'float32');
      assert.deepEqual(d.xTest.shape, [4]);
      d.dispose();
    });
  });

  const errors: [string, RegressionDataOptions, RegExp][] = [
    ['numTrain 0', { numTrain: 0 }, /numTrain: expected an integer >= 1, got number 0/],
    ['numTest 2.5', { numTest: 2.5 }, /numTest: expected an integer >= 1, got number 2.5/],
    ['xMax -1', { xMax: -1 }, /xMax: expected a finite number > 0, got number -1/],
    ['noiseStd -0.1', { noiseStd: -0.1 }, /noiseStd: expected a finite number >= 0, got -0.1/],
    ['seed 1.5', { seed: 1.5 }, /seed: expected an integer, got 1.5/],
  ];
  for (const [what, opts, message] of errors) {
    it(`rejects ${what} with a clear message`, () => {
      assert.throws(() => regressionArrays(opts), message);
      const before = tf.memory().numTensors;
      assert.throws(() => makeRegressionData(opts), message);
      assert.equal(tf.memory().numTensors, before);
    });
  }
});
