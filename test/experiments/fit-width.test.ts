import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { KernelName } from '../../src/attention/kernel-regression';
import { regressionArrays } from '../../src/data/regression';
import {
  fitKernelWidth,
  leaveOneOutLossAtLogWidth,
  type FitWidthOptions,
  type FitWidthStep,
} from '../../src/experiments/fit-width';
import { checkGradients, expectNoLeak, expectTensorsClose } from '../helpers/tensors';

/** Independent reference: Gaussian leave-one-out loss with plain loops in float64. */
function looReference(x: number[], y: number[], h: number): number {
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    let num = 0;
    let den = 0;
    for (let j = 0; j < x.length; j++) {
      if (j === i) continue;
      const k = Math.exp(-0.5 * ((x[i] - x[j]) / h) ** 2);
      num += k * y[j];
      den += k;
    }
    total += (y[i] - num / den) ** 2;
  }
  return total / x.length;
}

const X = [0, 0.4, 1.1, 1.9, 2.5, 3.2];
const Y = [0.2, 1.1, 2.8, 3.9, 3.7, 2.5];

describe('learning the kernel width (fitKernelWidth)', () => {
  let keys: tf.Tensor1D;
  let values: tf.Tensor1D;
  before(() => {
    keys = tf.tensor1d(X);
    values = tf.tensor1d(Y);
  });
  after(() => tf.dispose([keys, values]));

  it('the loss at log-width s is the leave-one-out loss at h = exp(s) (loop reference)', () => {
    for (const s of [-1, 0, 0.5]) {
      const loss = tf.tidy(() => leaveOneOutLossAtLogWidth(keys, values, tf.scalar(s)));
      expectTensorsClose(loss, tf.scalar(looReference(X, Y, Math.exp(s))), {
        atol: 1e-5,
        rtol: 1e-5,
        label: `s = ${s}`,
      });
      loss.dispose();
    }
  });

  it('has a finite-difference gradient in the log-width', () => {
    for (const kernel of ['gaussian', 'epanechnikov'] as const) {
      checkGradients((s) => leaveOneOutLossAtLogWidth(keys, values, s, kernel), [tf.scalar(0.1)], {
        eps: 1e-3,
        label: kernel,
      });
    }
  });

  it('one plain gradient step moves s by -lr times the finite-difference slope', () => {
    const s0 = Math.log(0.8);
    const eps = 1e-4;
    const slope =
      (looReference(X, Y, Math.exp(s0 + eps)) - looReference(X, Y, Math.exp(s0 - eps))) / (2 * eps);
    const r = fitKernelWidth(keys, values, {
      initialWidth: 0.8,
      steps: 1,
      optimizer: 'sgd',
      learningRate: 0.5,
    });
    assert.deepEqual(r.widths.length, 2);
    assert.ok(Math.abs(r.widths[0] - 0.8) < 1e-6);
    const expected = Math.exp(s0 - 0.5 * slope);
    assert.ok(
      Math.abs(r.widths[1] - expected) < 1e-4,
      `width after one step ${r.widths[1]}, expected ${expected} (slope ${slope})`,
    );
    assert.ok(Math.abs(r.losses[0] - looReference(X, Y, 0.8)) < 1e-5);
    assert.ok(Math.abs(r.losses[1] - looReference(X, Y, r.widths[1])) < 1e-5);
  });

  it('lowers the leave-one-out loss from its start to near the grid-search minimum', () => {
    const d = regressionArrays({ seed: 1 });
    const kx = tf.tensor1d(d.xTrain);
    const ky = tf.tensor1d(d.yTrain);
    // Grid search with the loop reference: the best width and its loss.
    let best = { h: NaN, loss: Infinity };
    for (let h = 0.05; h < 2; h *= 1.01) {
      const loss = looReference(d.xTrain, d.yTrain, h);
      if (loss < best.loss) best = { h, loss };
    }
    for (const optimizer of ['sgd', 'adam'] as const) {
      const r = fitKernelWidth(kx, ky, { optimizer, steps: 150 });
      assert.ok(Math.abs(r.losses[0] - looReference(d.xTrain, d.yTrain, 1)) < 1e-4);
      assert.ok(r.loss < r.losses[0] - 0.2, `${optimizer}: ${r.losses[0]} -> ${r.loss}`);
      assert.ok(r.loss < best.loss + 1e-3, `${optimizer}: loss ${r.loss} vs grid ${best.loss}`);
      assert.ok(
        Math.abs(r.width - best.h) < 0.05 * best.h,
        `${optimizer}: width ${r.width} vs grid ${best.h}`,
      );
    }
    tf.dispose([kx, ky]);
  });

  it('reports every step to onStep, matching the returned history', () => {
    const seen: FitWidthStep[] = [];
    const r = fitKernelWidth(keys, values, { steps: 5, onStep: (s) => seen.push(s) });
    assert.deepEqual(
      seen.map((s) => s.step),
      [0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      seen.map((s) => s.width),
      r.widths,
    );
    assert.deepEqual(
      seen.map((s) => s.loss),
      r.losses,
    );
    assert.equal(r.width, r.widths[5]);
    assert.equal(r.loss, r.losses[5]);
    seen.forEach((s) =>
      assert.ok(Math.abs(s.loss - looReference(X, Y, s.width)) < 1e-5, `step ${s.step}`),
    );
  });

  it('is deterministic, and zero steps leave the width where it started', () => {
    assert.deepEqual(
      fitKernelWidth(keys, values, { steps: 4 }),
      fitKernelWidth(keys, values, { steps: 4 }),
    );
    const r = fitKernelWidth(keys, values, { steps: 0, initialWidth: 0.7 });
    assert.equal(r.widths.length, 1);
    assert.ok(Math.abs(r.width - 0.7) < 1e-6);
  });

  it('does not leak tensors (variable and optimiser state included)', async () => {
    for (const optimizer of ['sgd', 'adam'] as const) {
      await expectNoLeak(() => fitKernelWidth(keys, values, { optimizer, steps: 3 }), optimizer);
    }
    await expectNoLeak(() => {
      const s = tf.scalar(0);
      leaveOneOutLossAtLogWidth(keys, values, s).dispose();
      s.dispose();
    }, 'loss at log-width');
  });

  it('frees its variable when onStep throws', async () => {
    await expectNoLeak(() =>
      assert.throws(
        () =>
          fitKernelWidth(keys, values, {
            steps: 3,
            onStep: () => {
              throw new Error('stop');
            },
          }),
        /stop/,
      ),
    );
  });

  const errors: [string, () => unknown, RegExp][] = [
    [
      'a single training point',
      () => fitKernelWidth(tf.tensor1d([1]), tf.tensor1d([2])),
      /keys: leave-one-out needs at least 2 training points, got shape \[1\]/,
    ],
    [
      'values of another length',
      () => fitKernelWidth(keys, tf.tensor1d([1, 2])),
      /values: expected shape \[K\] with K = 6 \(from keys\), got \[2\]/,
    ],
    [
      'a zero initial width',
      () => fitKernelWidth(keys, values, { initialWidth: 0 }),
      /initialWidth: expected a finite number > 0, got number 0/,
    ],
    [
      'negative steps',
      () => fitKernelWidth(keys, values, { steps: -1 }),
      /steps: expected an integer >= 0, got number -1/,
    ],
    [
      'an unknown optimizer',
      () => fitKernelWidth(keys, values, { optimizer: 'rmsprop' } as unknown as FitWidthOptions),
      /optimizer: expected 'adam' or 'sgd', got rmsprop/,
    ],
    [
      'a negative learning rate',
      () => fitKernelWidth(keys, values, { learningRate: -0.1 }),
      /learningRate: expected a finite number > 0, got number -0.1/,
    ],
    [
      'an unknown kernel',
      () => fitKernelWidth(keys, values, { kernel: 'cosine' as KernelName }),
      /kernel: expected one of gaussian, boxcar, epanechnikov, got cosine/,
    ],
    [
      'a non-function onStep',
      () => fitKernelWidth(keys, values, { onStep: 3 } as unknown as FitWidthOptions),
      /onStep: expected a function, got number/,
    ],
    [
      'a vector log-width',
      () => leaveOneOutLossAtLogWidth(keys, values, tf.tensor1d([0, 1])),
      /logWidth: expected rank 0 \[\], got rank 1/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what} with a clear message`, () => assert.throws(thunk, message));
  }
});
