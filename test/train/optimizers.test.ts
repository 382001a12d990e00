import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import raw from '../fixtures/torch-optim.json';
import { Adam, AdamW, clipByGlobalNorm, type AdamOptions } from '../../src/train/optimizers';
import { warmupInverseSqrt } from '../../src/train/schedules';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

type T = { shape: number[]; data: number[] };
interface OptimCase {
  config: {
    optimizer: 'adam' | 'adamw';
    lr: number;
    betas?: [number, number];
    weight_decay?: number;
    clipNorm?: number;
    schedule?: { warmup: number; peak: number };
  };
  params: Record<'weight' | 'bias', T>;
  grads: Record<'weight' | 'bias', T>[];
  lrs: number[];
  norms?: number[];
  after: Record<'weight' | 'bias', T>[];
}
const cases = (raw as unknown as { cases: Record<string, OptimCase> }).cases;
const NAMES = ['weight', 'bias'] as const;

/** Runs one fixture case with our optimizer, comparing the parameters after every step. */
function replay(name: string): void {
  const c = cases[name];
  const vars = tf.tidy(() =>
    NAMES.map((k) => tf.variable(tf.tensor(c.params[k].data, c.params[k].shape))),
  );
  const sched = c.config.schedule;
  const opts: AdamOptions = {
    lr: sched ? warmupInverseSqrt({ warmup: sched.warmup, peak: sched.peak }) : c.config.lr,
    weightDecay: c.config.weight_decay ?? 0,
    ...(c.config.betas ? { beta1: c.config.betas[0], beta2: c.config.betas[1] } : {}),
  };
  const opt = c.config.optimizer === 'adamw' ? new AdamW(vars, opts) : new Adam(vars, opts);
  try {
    c.grads.forEach((g, s) => {
      tf.tidy(() => {
        let grads = new Map(NAMES.map((k, i) => [vars[i], tf.tensor(g[k].data, g[k].shape)]));
        if (c.config.clipNorm !== undefined) {
          const clipped = clipByGlobalNorm(grads, c.config.clipNorm);
          assert.ok(
            Math.abs(clipped.norm.dataSync()[0] - c.norms![s]) < 1e-5,
            `${name} step ${s + 1}: norm ${clipped.norm.dataSync()[0]} vs torch ${c.norms![s]}`,
          );
          grads = clipped.grads;
        }
        opt.applyGradients(grads);
      });
      assert.ok(
        Math.abs(opt.lastLearningRate - c.lrs[s]) < 1e-12,
        `${name} step ${s + 1}: lr ${opt.lastLearningRate} vs torch ${c.lrs[s]}`,
      );
      NAMES.forEach((k, i) =>
        expectTensorsClose(vars[i], c.after[s][k], {
          atol: 1e-6,
          rtol: 0,
          label: `${name} step ${s + 1} ${k}`,
        }),
      );
    });
    assert.equal(opt.step.dataSync()[0], c.grads.length);
  } finally {
    opt.dispose();
    tf.dispose(vars);
  }
}

describe('Adam and AdamW (optimizers)', () => {
  for (const name of Object.keys(cases)) {
    it(`matches torch.optim on the "${name}" fixture to 1e-6, step by step`, async () => {
      await expectNoLeak(() => replay(name), name);
    });
  }

  it('takes a first Adam step of lr * sign(g), by hand', () => {
    // After one step m = (1-b1) g, v = (1-b2) g^2, so the bias-corrected ratio is g/|g| (eps aside).
    const p = tf.tidy(() => tf.variable(tf.tensor1d([1, -2, 0.5])));
    const opt = new Adam([p], { lr: 0.1, eps: 0 });
    tf.tidy(() => opt.applyGradients({ [p.name]: tf.tensor1d([3, -0.01, 2]) }));
    expectTensorsClose(p, { shape: [3], data: [0.9, -1.9, 0.4] }, { atol: 1e-6 });
    opt.dispose();
    p.dispose();
  });

  it('AdamW shrinks weights with a zero gradient by (1 - lr wd); Adam with L2 does not', () => {
    const [a, b] = tf.tidy(() => [
      tf.variable(tf.tensor1d([2, -4])),
      tf.variable(tf.tensor1d([2, -4])),
    ]);
    const adamw = new AdamW([a], { lr: 0.1, weightDecay: 0.5 });
    const adam = new Adam([b], { lr: 0.1, weightDecay: 0 });
    tf.tidy(() => {
      adamw.applyGradients(new Map([[a, tf.zeros([2])]]));
      adam.applyGradients(new Map([[b, tf.zeros([2])]]));
    });
    expectTensorsClose(a, { shape: [2], data: [2 * 0.95, -4 * 0.95] }, { atol: 1e-6 });
    expectTensorsClose(b, { shape: [2], data: [2, -4] }, { atol: 0 });
    adamw.dispose();
    adam.dispose();
    tf.dispose([a, b]);
  });

  it('clipByGlobalNorm scales by maxNorm / norm, keeps small gradients, returns new tensors', () => {
    tf.tidy(() => {
      // Global norm of (3, 4) and (12): sqrt(9 + 16 + 144) = 13.
      const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor1d([12]) };
      const { grads: out, norm } = clipByGlobalNorm(grads, 6.5);
      assert.ok(Math.abs(norm.dataSync()[0] - 13) < 1e-5);
      const f = 6.5 / (13 + 1e-6);
      expectTensorsClose(out.a, { shape: [2], data: [3 * f, 4 * f] }, { atol: 1e-6 });
      expectTensorsClose(out.b, { shape: [1], data: [12 * f] }, { atol: 1e-6 });
      const same = clipByGlobalNorm(grads, 100).grads;
      expectTensorsClose(same.a, { shape: [2], data: [3, 4] }, { atol: 1e-6 });
      assert.notEqual(same.a, grads.a);
    });
  });

  it('names the argument in its errors', () => {
    const p = tf.variable(tf.zeros([2, 3]));
    const q = tf.variable(tf.zeros([2]));
    assert.throws(() => new Adam([], {}), /variables: expected a non-empty array/);
    assert.throws(() => new Adam([p, p]), /variables\[1\]: the variable .* appears twice/);
    assert.throws(
      () => new Adam([p], { lr: -1 }),
      /lr: expected a finite number > 0 or a schedule/,
    );
    assert.throws(
      () => new Adam([p], { beta1: 1 }),
      /beta1: expected a number in \[0, 1\), got number 1/,
    );
    assert.throws(
      () => new AdamW([p], { weightDecay: -0.1 }),
      /weightDecay: expected a finite number >= 0/,
    );
    const opt = new Adam([p]);
    assert.throws(
      () => tf.tidy(() => opt.applyGradients({ [p.name]: tf.zeros([3, 2]) })),
      /grads\[".*"\]: expected shape \[2, 3\] \(the variable's\), got \[3, 2\]/,
    );
    assert.throws(
      () => tf.tidy(() => opt.applyGradients({ nope: tf.zeros([2, 3]) })),
      /grads: no variable named "nope"/,
    );
    assert.throws(
      () => tf.tidy(() => opt.applyGradients(new Map([[q, tf.zeros([2])]]))),
      /grads: the variable .* is not one this optimizer updates/,
    );
    const scheduled = new Adam([p], { lr: () => NaN });
    assert.throws(
      () => tf.tidy(() => scheduled.applyGradients({ [p.name]: tf.zeros([2, 3]) })),
      /lr: the schedule gave number NaN at step 1/,
    );
    assert.throws(
      () => clipByGlobalNorm({ a: tf.zeros([1]) }, 0),
      /maxNorm: expected a finite number > 0, got number 0/,
    );
    assert.throws(() => clipByGlobalNorm({}, 1), /grads: expected at least one gradient/);
    opt.dispose();
    scheduled.dispose();
    tf.dispose([p, q]);
  });
});
