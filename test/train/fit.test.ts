import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { Linear } from '../../src/core/linear';
import { Module } from '../../src/core/module';
import { createRng } from '../../src/core/random';
import {
  epochBatches,
  fit,
  historyChart,
  tensorDataset,
  type Dataset,
  type FitOptions,
} from '../../src/train/fit';
import { AdamW } from '../../src/train/optimizers';
import { constant } from '../../src/train/schedules';

/** The tiny model of these tests: y = x W + b with x in R^2. */
class Tiny extends Module {
  readonly lin: Linear;
  constructor(seed = 0) {
    super();
    this.lin = new Linear({ inFeatures: 2, outFeatures: 1, seed });
  }
  apply(x: tf.Tensor): tf.Tensor {
    return this.lin.apply(x);
  }
}

type Batch = Record<'x' | 'y', tf.Tensor>;

/** Noise-free targets y = 2 x0 - 3 x1 + 0.5 on seeded inputs. */
function regression(n: number, seed: number): { x: number[][]; y: number[] } {
  const rng = createRng(seed);
  const x = Array.from({ length: n }, () => [rng.normal(), rng.normal()]);
  return { x, y: x.map(([a, b]) => 2 * a - 3 * b + 0.5) };
}

const mse = (batch: Batch, model: Tiny): tf.Scalar =>
  tf.mean(tf.square(tf.sub(model.apply(batch.x), batch.y)));

/** Mean squared error on `valid`, computed on the host from the model's weights. */
function hostMse(model: Tiny, valid: { x: number[][]; y: number[] }): number {
  const w = model.lin.weight.dataSync();
  const b = model.lin.bias!.dataSync()[0];
  let s = 0;
  valid.x.forEach(([a, c], i) => (s += (a * w[0] + c * w[1] + b - valid.y[i]) ** 2));
  return s / valid.y.length;
}

describe('the training loop (fit)', () => {
  let x: tf.Tensor2D;
  let y: tf.Tensor2D;
  let train: Dataset<Batch>;
  const valid = regression(32, 2);
  before(() => {
    const d = regression(64, 1);
    x = tf.tensor2d(d.x);
    y = tf.tensor2d(d.y, [64, 1]);
    train = tensorDataset({ x, y });
  });
  after(() => tf.dispose([x, y]));

  const base = (model: Tiny): FitOptions<Tiny, Batch, typeof valid> => ({
    model,
    loss: mse,
    data: { train, valid },
    batchSize: 16,
    lr: 0.1,
    progress: false,
  });

  it('trains a tiny model to a target and stops early', async () => {
    const model = new Tiny();
    const before = tf.memory().numTensors;
    const run = await fit({
      ...base(model),
      steps: 2000,
      evalEvery: 20,
      metrics: { mse: hostMse },
      target: { metric: 'mse', value: 1e-3, mode: 'min' },
    });
    assert.equal(run.stoppedBy, 'target');
    assert.ok(run.steps < 2000 && run.steps % 20 === 0, `stopped at step ${run.steps}`);
    assert.ok(hostMse(model, valid) <= 1e-3, `validation mse ${hostMse(model, valid)}`);
    assert.equal(run.metrics.mse, hostMse(model, valid));
    const last = run.history[run.history.length - 1];
    assert.equal(last.step, run.steps);
    assert.ok(run.history[0].loss > 10 * last.loss, 'the loss went down');
    // The weights approach the true ones, (2, -3) and 0.5.
    const w = model.lin.weight.dataSync();
    assert.ok(Math.abs(w[0] - 2) < 0.1 && Math.abs(w[1] + 3) < 0.1, `weights ${w}`);
    assert.equal(tf.memory().numTensors, before, 'fit left tensors behind');
    const fig = historyChart(run.history);
    assert.equal(fig.panels.length, 2);
    model.dispose();
  });

  it('stops when the time budget runs out', async () => {
    const model = new Tiny();
    const run = await fit({ ...base(model), steps: 1_000_000, timeBudgetSec: 0.3 });
    assert.equal(run.stoppedBy, 'time');
    assert.ok(run.steps > 0 && run.steps < 1_000_000);
    assert.ok(run.seconds >= 0.3 && run.seconds < 3, `ran ${run.seconds} s`);
    model.dispose();
  });

  it('stops at a NaN loss with the step range, and restores the last finite weights', async () => {
    const model = new Tiny();
    let calls = 0;
    const loss = (batch: Batch, m: Tiny): tf.Scalar => {
      calls++;
      const l = mse(batch, m);
      return calls > 43 ? (tf.mul(l, NaN) as tf.Scalar) : l;
    };
    const before = tf.memory().numTensors;
    await assert.rejects(
      fit({ ...base(model), loss, steps: 100, logEvery: 10 }),
      /fit: the loss became NaN between step 40 and 50; the weights are back to those after step 40/,
    );
    assert.equal(tf.memory().numTensors, before, 'the failed fit left tensors behind');
    // Usable: the weights equal those of a clean 40-step run with the same seed.
    const reference = new Tiny();
    await fit({ ...base(reference), steps: 40 });
    assert.deepEqual(model.lin.weight.dataSync(), reference.lin.weight.dataSync());
    assert.ok(model.training, 'training mode restored');
    model.dispose();
    reference.dispose();
  });

  it('gives the same history for the same seed, another for another seed', async () => {
    const runWith = async (seed: number) => {
      const model = new Tiny(7);
      const run = await fit({
        ...base(model),
        seed,
        epochs: 3,
        evalEvery: 4,
        metrics: { mse: hostMse },
      });
      model.dispose();
      return run.history;
    };
    const a = await runWith(5);
    const b = await runWith(5);
    const c = await runWith(6);
    assert.equal(a.length, 4); // 12 steps: rows at 4, 8, 10, 12
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('shuffles each epoch from the seed and visits every example once', () => {
    const e0 = epochBatches(10, 4, 3, 0);
    assert.deepEqual(
      e0.map((b) => b.length),
      [4, 4, 2],
    );
    assert.deepEqual(
      e0.flat().sort((p, q) => p - q),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.deepEqual(epochBatches(10, 4, 3, 0), e0);
    assert.notDeepEqual(epochBatches(10, 4, 3, 1), e0);
    assert.notDeepEqual(epochBatches(10, 4, 4, 0), e0);
  });

  it('tensorDataset gathers the rows asked for, in that order', () => {
    tf.tidy(() => {
      const ds = tensorDataset({
        a: tf.tensor2d([
          [1, 2],
          [3, 4],
          [5, 6],
        ]),
        b: tf.tensor1d([7, 8, 9]),
      });
      assert.equal(ds.size, 3);
      const batch = ds.batch([2, 0]);
      assert.deepEqual(batch.a.arraySync(), [
        [5, 6],
        [1, 2],
      ]);
      assert.deepEqual(batch.b.arraySync(), [9, 7]);
    });
  });

  it('historyChart plots the loss at every row and each metric where it was evaluated', () => {
    const fig = historyChart([
      { step: 10, loss: 2, lr: 0.1 },
      { step: 20, loss: 1, lr: 0.1, acc: 0.5 },
      { step: 30, loss: 0.5, lr: 0.1 },
      { step: 40, loss: 0.25, lr: 0.1, acc: 0.9 },
    ]);
    assert.equal(fig.panels.length, 2);
    const [lossPanel, metricPanel] = fig.panels;
    assert.ok(lossPanel.kind === 'lines' && metricPanel.kind === 'lines');
    if (lossPanel.kind !== 'lines' || metricPanel.kind !== 'lines') return;
    assert.deepEqual(lossPanel.series[0].x, [10, 20, 30, 40]);
    assert.deepEqual(lossPanel.series[0].y, [2, 1, 0.5, 0.25]);
    assert.deepEqual(
      metricPanel.series.map((s) => s.name),
      ['acc'],
    );
    assert.deepEqual(metricPanel.series[0].x, [20, 40]);
    assert.deepEqual(metricPanel.series[0].y, [0.5, 0.9]);
    assert.equal(historyChart([{ step: 1, loss: 1, lr: 1 }]).panels.length, 1);
  });

  it('keeps the tensor count flat across 1,000 steps', async () => {
    const model = new Tiny();
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const run = await fit({
      ...base(model),
      lr: constant(0.01),
      clipNorm: 1,
      steps: 1000,
      logEvery: 25,
      evalEvery: 100,
      metrics: { probe: () => counts.push(tf.memory().numTensors) },
    });
    assert.equal(run.steps, 1000);
    assert.equal(counts.length, 10);
    assert.ok(
      counts.every((n) => n === counts[0]),
      `tensor counts across steps: ${counts}`,
    );
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });

  it('trains in training mode, evaluates in eval mode, restores the mode; stops on abort', async () => {
    const model = new Tiny().eval();
    const seen = { train: new Set<boolean>(), eval: new Set<boolean>() };
    const controller = new AbortController();
    const source = (step: number): Batch => {
      if (step === 25) controller.abort();
      return train.batch([step % 64, (step * 7) % 64]);
    };
    const run = await fit({
      model,
      data: source,
      steps: 100,
      loss: (batch, m) => {
        seen.train.add(m.training);
        return mse(batch, m);
      },
      evalEvery: 10,
      metrics: { mode: (m) => (seen.eval.add(m.training), 0) },
      signal: controller.signal,
      progress: false,
    });
    assert.equal(run.stoppedBy, 'interrupt');
    assert.equal(run.steps, 25);
    assert.deepEqual([...seen.train], [true]);
    assert.deepEqual([...seen.eval], [false]);
    assert.equal(model.training, false);
    // Still usable: it trains on.
    const again = await fit({ ...base(model), steps: 5 });
    assert.equal(again.steps, 5);
    model.dispose();
  });

  it('stops cleanly at Kernel > Interrupt (SIGINT) while a cell awaits it; the model stays usable', async () => {
    // tslab runs only a cell's synchronous code under breakOnSigint; fit trains after its first
    // await, where an interrupt arrives as a SIGINT event. Another process sends it, as Jupyter does.
    const model = new Tiny();
    const listeners = process.listenerCount('SIGINT');
    const before = tf.memory().numTensors;
    const killer = spawn('sh', ['-c', `sleep 0.4; kill -INT ${process.pid}`], { stdio: 'ignore' });
    let run;
    try {
      run = await fit({ ...base(model), steps: 1_000_000, logEvery: 10 });
    } finally {
      killer.kill();
    }
    assert.equal(run.stoppedBy, 'interrupt');
    assert.ok(run.steps > 0 && run.steps < 1_000_000 && run.steps % 10 === 0, `steps ${run.steps}`);
    assert.equal(process.listenerCount('SIGINT'), listeners, 'fit left its SIGINT listener');
    assert.equal(tf.memory().numTensors, before);
    assert.ok(Number.isFinite(hostMse(model, valid)));
    assert.equal((await fit({ ...base(model), steps: 3 })).steps, 3);
    model.dispose();
  });

  it('continues with an optimizer you pass and leaves it alive', async () => {
    const model = new Tiny();
    const opt = new AdamW(model.variables(), { lr: 0.01 });
    await fit({
      model,
      loss: mse,
      data: train,
      batchSize: 8,
      steps: 3,
      optimizer: opt,
      progress: false,
    });
    await fit({
      model,
      loss: mse,
      data: train,
      batchSize: 8,
      steps: 2,
      optimizer: opt,
      progress: false,
    });
    assert.equal(opt.updatesDone, 5);
    assert.equal(opt.step.dataSync()[0], 5);
    opt.dispose();
    model.dispose();
  });

  it('names the argument in its errors', async () => {
    const model = new Tiny();
    const o = base(model);
    const spare = new AdamW(model.variables());
    const cases: Array<[Partial<FitOptions<Tiny, Batch>>, RegExp]> = [
      [{ model: {} as Tiny }, /model: expected a Module/],
      [{ steps: 10, epochs: 1 }, /fit: expected exactly one of steps and epochs/],
      [
        {},
        /fit: expected exactly one of steps and epochs, got steps undefined and epochs undefined/,
      ],
      [{ steps: 0 }, /steps: expected an integer >= 1, got number 0/],
      [{ steps: 1, batchSize: 0 }, /batchSize: expected an integer >= 1, got number 0/],
      [{ steps: 1, data: 5 as never }, /data: expected a Dataset/],
      [{ steps: 1, clipNorm: -1 }, /clipNorm: expected a finite number > 0/],
      [{ steps: 1, logEvery: 0 }, /logEvery: expected an integer >= 1/],
      [{ steps: 1, timeBudgetSec: 0 }, /timeBudgetSec: expected a finite number > 0/],
      [
        { steps: 1, target: { metric: 'acc', value: 1 } },
        /target.metric: expected 'loss' or one of the metrics \(none given\), got string acc/,
      ],
      [{ steps: 1, metrics: { lr: () => 1 } }, /metrics.lr: the name is taken/],
      [{ steps: 1, optimizer: spare }, /lr: give lr or optimizer, not both/],
      [{ steps: 1, lr: 0 }, /lr: expected a finite number > 0 or a schedule/],
    ];
    const count = tf.memory().numTensors;
    for (const [patch, message] of cases) {
      await assert.rejects(fit({ ...o, ...patch } as FitOptions<Tiny, Batch>), message);
    }
    await assert.rejects(
      fit({ ...o, steps: 1, loss: () => tf.zeros([2]) as unknown as tf.Scalar }),
      /loss: expected the loss function to return a scalar tensor, got shape \[2\]/,
    );
    assert.equal(tf.memory().numTensors, count, 'a rejected fit left tensors behind');
    await assert.rejects(
      fit({ model, loss: mse, data: (s: number) => train.batch([s]), epochs: 1, progress: false }),
      /epochs: a batch source has no epochs/,
    );
    assert.throws(
      () =>
        tf.tidy(() => {
          tensorDataset({ x, y: tf.zeros([3]) });
        }),
      /tensors.y: expected 64 examples/,
    );
    assert.throws(() => historyChart([]), /history: expected a non-empty array/);
    spare.dispose();
    model.dispose();
  });
});
