/**
 * `fit`: one training loop for every model of the course. It knows nothing about attention: it
 * takes a `Module`, a loss `(batch, model) -> scalar` and the data, and runs seeded mini-batch
 * steps with Adam (or the optimizer you give), evaluating your metrics now and then.
 *
 * Data comes in one of two shapes:
 * - a `Dataset`: `size` examples and `batch(indices)` that returns the tensors of those
 *   examples (`tensorDataset({ x, y })` makes one from tensors). Each epoch visits every example
 *   once, in an order shuffled from `seed` and the epoch number, so the same seed gives the same
 *   batches in the same order, run after run;
 * - a batch source `(step) -> batch`, for data generated on the fly (seed it from `step`).
 * The loop frees each batch after its step.
 *
 * Cost: the loss is read back from the device only every `logEvery` steps (a read waits for the
 * device; on every step it would cost time), as a mean over those steps, so a NaN or infinite
 * loss anywhere in between is still caught, with the range of steps in the message. Between
 * reads the loop yields to the event loop, which lets the progress display redraw and
 * Kernel > Interrupt (SIGINT) or an `AbortSignal` stop training cleanly. For the same reason the
 * layers' own NaN checks of their inputs (`setFiniteChecks`), which read values back on every
 * call, are off during updates: the loss check covers them.
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../core/module';
import { createRng, deriveSeed } from '../core/random';
import { checkInt, checkPositive, withInputsChecked } from '../core/shapes';
import type { Figure } from '../viz/figure';
import { composeFigure } from '../viz/figure';
import { lineChart } from '../viz/figures';
import { progress, type Progress } from '../viz/progress';
import { beginRun } from './interrupt';
import { Adam, clipByGlobalNorm } from './optimizers';
import type { Schedule } from './schedules';

/** A dataset of `size` examples; `batch(indices)` returns their tensors as one batch. */
export interface Dataset<B extends tf.TensorContainer = tf.TensorContainer> {
  /** Number of examples. */
  readonly size: number;
  /** The examples at `indices` (each in `[0, size)`) as one batch of new tensors. */
  batch(indices: readonly number[]): B;
}

/** Batches made on the fly: the batch for update `step` (1, 2, ...). */
export type BatchSource<B extends tf.TensorContainer = tf.TensorContainer> = (step: number) => B;

/** Training data: a `Dataset` (seeded shuffling per epoch) or a batch source. */
export type TrainData<B extends tf.TensorContainer> = Dataset<B> | BatchSource<B>;

/** Why `fit` stopped. */
export type StopReason = 'steps' | 'target' | 'time' | 'interrupt';

/** Stop when a metric reaches a value. */
export interface FitTarget {
  /** A name in `metrics`, or `'loss'` (the training loss at each log). */
  metric: string;
  /** The value to reach. */
  value: number;
  /** `'max'`: stop when `metric >= value`; `'min'`: when `metric <= value`. Defaults to
   * `'min'` for `'loss'`, `'max'` otherwise. */
  mode?: 'max' | 'min';
}

/** One row of `FitResult.history`: written at every log and evaluation. */
export interface HistoryRow {
  /** Updates done. */
  step: number;
  /** Mean training loss over the updates since the previous row. */
  loss: number;
  /** Learning rate of the last update. */
  lr: number;
  /** Metrics, on rows where an evaluation ran. */
  [metric: string]: number;
}

/** Options of `fit`. */
export interface FitOptions<
  M extends Module,
  B extends tf.TensorContainer = tf.TensorContainer,
  V = unknown,
> {
  /** The model; its trainable variables are trained. */
  model: M;
  /** The loss of a batch, a scalar tensor (made inside the step's `tf.tidy`). */
  loss: (batch: B, model: M) => tf.Scalar;
  /** Training data, or `{ train, valid }`; `valid` is handed to the metrics as it is. */
  data: TrainData<B> | { train: TrainData<B>; valid?: V };
  /** Number of updates. Give `steps` or `epochs`, not both. */
  steps?: number;
  /** Number of passes over a `Dataset` (`ceil(size / batchSize)` updates each). */
  epochs?: number;
  /** Examples per batch; needed with a `Dataset`. The last batch of an epoch may be smaller. */
  batchSize?: number;
  /** An optimizer you made (it keeps its state after `fit`). Defaults to a new `Adam`. */
  optimizer?: Adam;
  /** Learning rate or schedule of the default `Adam`. Defaults to 1e-3. */
  lr?: number | Schedule;
  /** Clip gradients to this global norm before each update (`clipByGlobalNorm`). */
  clipNorm?: number;
  /** Seed of the data order. Defaults to 0. */
  seed?: number;
  /** Updates between evaluations of `metrics`. Defaults to about a tenth of the run, rounded
   * to a multiple of `logEvery`. */
  evalEvery?: number;
  /** Metrics by name, each `(model, valid) -> number`, run in eval mode inside `tf.tidy`. */
  metrics?: Record<string, (model: M, valid: V) => number>;
  /** Stop early when a metric reaches a value (checked at each evaluation). */
  target?: FitTarget;
  /** Stop after this many seconds of training. */
  timeBudgetSec?: number;
  /** Updates between reads of the loss (and NaN checks, history rows). Defaults to 10. */
  logEvery?: number;
  /** Show a live progress display. Defaults to true. */
  progress?: boolean;
  /** Label of the progress display. Defaults to `'training'`. */
  label?: string;
  /** Stops training (as an interrupt does) when aborted. */
  signal?: AbortSignal;
}

/** What `fit` returns. */
export interface FitResult {
  /** One row per log or evaluation, in step order. */
  history: HistoryRow[];
  /** Why training stopped. */
  stoppedBy: StopReason;
  /** Updates done. */
  steps: number;
  /** Wall-clock seconds of training (evaluations included). */
  seconds: number;
  /** The last value of every metric (empty when none was evaluated). */
  metrics: Record<string, number>;
  /** The last logged training loss. */
  loss: number;
}

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  return `${typeof x} ${String(x)}`;
}

function isDataset(x: unknown): x is Dataset {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as Dataset).batch === 'function' &&
    typeof (x as Dataset).size === 'number'
  );
}

/**
 * A `Dataset` over tensors that share their first axis (the examples):
 * `tensorDataset({ x, y })` gives batches `{ x: x[indices], y: y[indices] }`.
 * @param tensors tensors `[N, ...]` by name, with the same `N >= 1`
 */
export function tensorDataset<K extends string>(
  tensors: Record<K, tf.Tensor>,
): Dataset<Record<K, tf.Tensor>> {
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors)) {
    throw new TypeError(`tensors: expected an object of tensors, got ${describe(tensors)}`);
  }
  const entries = Object.entries(tensors) as Array<[K, tf.Tensor]>;
  if (entries.length === 0) throw new Error('tensors: expected at least one tensor, got none');
  let size = -1;
  for (const [name, t] of entries) {
    if (!(t instanceof tf.Tensor) || t.rank === 0) {
      throw new TypeError(`tensors.${name}: expected a tensor [N, ...], got ${describe(t)}`);
    }
    if (size < 0) size = t.shape[0];
    if (t.shape[0] !== size || size === 0) {
      throw new Error(
        `tensors.${name}: expected ${size} examples (the first tensor's, at least 1) on axis 0, got shape [${t.shape.join(', ')}]`,
      );
    }
  }
  return {
    size,
    batch(indices) {
      return tf.tidy(() => {
        const idx = tf.tensor1d(indices as number[], 'int32');
        return Object.fromEntries(entries.map(([name, t]) => [name, tf.gather(t, idx)])) as Record<
          K,
          tf.Tensor
        >;
      });
    },
  };
}

/**
 * The batches of one epoch: the indices `0..size-1` shuffled (Fisher-Yates) by a generator
 * seeded from `seed` and `epoch`, cut into runs of `batchSize` (the last may be shorter).
 * Same arguments, same batches.
 */
export function epochBatches(
  size: number,
  batchSize: number,
  seed: number,
  epoch: number,
): number[][] {
  checkInt(size, 'size', 1);
  checkInt(batchSize, 'batchSize', 1);
  checkInt(epoch, 'epoch', 0);
  if (!Number.isInteger(seed)) throw new RangeError(`seed: expected an integer, got ${seed}`);
  const rng = createRng(deriveSeed(seed, `epoch ${epoch}`));
  const order = Array.from({ length: size }, (_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const batches: number[][] = [];
  for (let i = 0; i < size; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/** Lets the event loop turn: timers, the notebook's display messages, SIGINT. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const RESERVED = new Set(['step', 'loss', 'lr']);

/**
 * Trains `model` by minimising `loss` over `data`; see the module comment and `FitOptions`.
 *
 * ```ts
 * const run = await ah.fit({ model, loss, data: { train, valid }, steps: 2000, batchSize: 64,
 *   lr: ah.warmupInverseSqrt({ warmup: 100, peak: 3e-3 }), metrics: { accuracy },
 *   target: { metric: 'accuracy', value: 0.95 } });
 * ah.showFigure(ah.historyChart(run.history));
 * ```
 *
 * The model is in training mode during updates and in eval mode during evaluations, and is
 * left in the mode it had. A NaN or infinite loss stops training with an error naming the steps
 * between which it appeared; the weights are then put back to those of the last finite check.
 * Kernel > Interrupt (SIGINT) or `signal` stops at the next log with `stoppedBy: 'interrupt'`
 * and the weights of the last update. (In a notebook, tslab ends the awaiting cell at once with
 * "Interrupted asynchronously"; the loop stops at its next log, within `logEvery` steps, and the
 * model can be used or trained on in the next cell.) Every tensor the loop makes is freed (the tensor count is flat across steps).
 * @returns the history, why and when training stopped, the final metrics
 */
export async function fit<M extends Module, B extends tf.TensorContainer, V = unknown>(
  opts: FitOptions<M, B, V>,
): Promise<FitResult> {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(
      `fit: expected an options object { model, loss, data, ... }, got ${describe(opts)}`,
    );
  }
  const { model, loss } = opts;
  if (!(model instanceof Module)) {
    throw new TypeError(`model: expected a Module, got ${describe(model)}`);
  }
  if (typeof loss !== 'function') {
    throw new TypeError(
      `loss: expected a function (batch, model) -> tf.Scalar, got ${describe(loss)}`,
    );
  }
  // 1) Data.
  const data = opts.data as unknown;
  let train: unknown = data;
  let valid: V | undefined;
  if (data !== null && typeof data === 'object' && 'train' in data) {
    train = (data as { train: unknown }).train;
    valid = (data as { valid?: V }).valid;
  }
  const dataset = isDataset(train) ? (train as Dataset<B>) : null;
  const source = typeof train === 'function' ? (train as BatchSource<B>) : null;
  if (dataset === null && source === null) {
    throw new TypeError(
      `data: expected a Dataset { size, batch(indices) }, a batch source (step) -> batch, or { train, valid }, got ${describe(train)}`,
    );
  }
  if (dataset !== null) checkInt(dataset.size, 'data.size', 1);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed))
    throw new RangeError(`seed: expected an integer, got ${describe(seed)}`);
  let batchSize = 0;
  if (dataset !== null) {
    if (opts.batchSize === undefined)
      throw new Error('batchSize: expected an integer >= 1 with a Dataset, got undefined');
    batchSize = checkInt(opts.batchSize, 'batchSize', 1);
  } else if (opts.batchSize !== undefined) {
    throw new Error('batchSize: a batch source makes its own batches; leave batchSize out');
  }
  // 2) Length of the run.
  if ((opts.steps === undefined) === (opts.epochs === undefined)) {
    throw new Error(
      `fit: expected exactly one of steps and epochs, got steps ${describe(opts.steps)} and epochs ${describe(opts.epochs)}`,
    );
  }
  const perEpoch = dataset !== null ? Math.ceil(dataset.size / batchSize) : 0;
  let total: number;
  if (opts.epochs !== undefined) {
    if (dataset === null) throw new Error('epochs: a batch source has no epochs; give steps');
    total = checkInt(opts.epochs, 'epochs', 1) * perEpoch;
  } else {
    total = checkInt(opts.steps, 'steps', 1);
  }
  // 3) Optimizer.
  if (opts.optimizer !== undefined && opts.lr !== undefined) {
    throw new Error("lr: give lr or optimizer, not both (set the optimizer's own lr)");
  }
  if (opts.optimizer !== undefined && !(opts.optimizer instanceof Adam)) {
    throw new TypeError(`optimizer: expected an Adam or AdamW, got ${describe(opts.optimizer)}`);
  }
  if (opts.clipNorm !== undefined) checkPositive(opts.clipNorm, 'clipNorm');
  // 4) Logging, evaluation, stopping.
  const logEvery = checkInt(opts.logEvery ?? 10, 'logEvery', 1);
  // About ten evaluations per run, on log steps.
  const evalEvery = checkInt(
    opts.evalEvery ?? logEvery * Math.max(1, Math.round(total / 10 / logEvery)),
    'evalEvery',
    1,
  );
  const metrics = opts.metrics ?? {};
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
    throw new TypeError(
      `metrics: expected an object of functions (model, valid) -> number, got ${describe(metrics)}`,
    );
  }
  for (const [name, fn] of Object.entries(metrics)) {
    if (typeof fn !== 'function') {
      throw new TypeError(
        `metrics.${name}: expected a function (model, valid) -> number, got ${describe(fn)}`,
      );
    }
    if (RESERVED.has(name))
      throw new Error(`metrics.${name}: the name is taken by the history; pick another`);
  }
  const target = opts.target;
  let targetMode: 'max' | 'min' = 'max';
  if (target !== undefined) {
    if (target === null || typeof target !== 'object') {
      throw new TypeError(`target: expected { metric, value, mode? }, got ${describe(target)}`);
    }
    if (target.metric !== 'loss' && !(target.metric in metrics)) {
      throw new Error(
        `target.metric: expected 'loss' or one of the metrics (${Object.keys(metrics).join(', ') || 'none given'}), got ${describe(target.metric)}`,
      );
    }
    if (typeof target.value !== 'number' || !Number.isFinite(target.value)) {
      throw new RangeError(`target.value: expected a finite number, got ${describe(target.value)}`);
    }
    targetMode = target.mode ?? (target.metric === 'loss' ? 'min' : 'max');
    if (targetMode !== 'max' && targetMode !== 'min') {
      throw new RangeError(`target.mode: expected 'max' or 'min', got ${describe(target.mode)}`);
    }
  }
  const budgetMs =
    opts.timeBudgetSec === undefined
      ? Infinity
      : checkPositive(opts.timeBudgetSec, 'timeBudgetSec') * 1000;
  const signal = opts.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal: expected an AbortSignal, got ${describe(signal)}`);
  }

  // Nothing below runs inside the cell's synchronous code, which Kernel > Interrupt would
  // terminate half-way; from here an interrupt arrives as a SIGINT event between chunks.
  await yieldToEventLoop();

  const ownOptimizer = opts.optimizer === undefined;
  const optimizer = opts.optimizer ?? new Adam(model.variables(), { lr: opts.lr ?? 1e-3 });
  const variables = optimizer.variables;
  const wasTraining = model.training;
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    // A second Ctrl-C in a terminal then does what it usually does.
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  const bar: Progress = progress({
    total,
    label: opts.label ?? 'training',
    mode: opts.progress === false ? 'silent' : 'auto',
  });
  let barDone = false;
  // Weights at the last finite check (clones share the data, so this costs no copy).
  let snapshot: tf.Tensor[] = variables.map((v) => tf.keep(v.clone()));
  const history: HistoryRow[] = [];
  const lastMetrics: Record<string, number> = {};
  let lastLoss = NaN;
  let stoppedBy: StopReason | null = null;
  let step = 0;
  let lastRead = 0;
  let epoch = -1;
  let batches: number[][] = [];
  const start = performance.now();
  const elapsedMs = (): number => performance.now() - start;

  const nextBatch = (): B => {
    if (source !== null) return source(step + 1);
    const e = Math.floor(step / perEpoch);
    if (e !== epoch) {
      epoch = e;
      batches = epochBatches(dataset!.size, batchSize, seed, e);
    }
    return dataset!.batch(batches[step % perEpoch]);
  };

  const evaluate = (): Record<string, number> => {
    const out: Record<string, number> = {};
    if (Object.keys(metrics).length === 0) return out;
    model.eval();
    try {
      for (const [name, fn] of Object.entries(metrics)) {
        const value = tf.tidy(() => fn(model, valid as V));
        if (typeof value !== 'number') {
          throw new TypeError(
            `metrics.${name}: expected the metric to return a number, got ${describe(value)}`,
          );
        }
        out[name] = value;
      }
    } finally {
      model.train();
    }
    return out;
  };

  try {
    while (step < total && stoppedBy === null) {
      // 1) A chunk of updates, synchronous, up to the next log or evaluation.
      const chunkEnd = Math.min(
        total,
        (Math.floor(step / logEvery) + 1) * logEvery,
        (Math.floor(step / evalEvery) + 1) * evalEvery,
      );
      const chunkStart = step;
      const run = beginRun('fit');
      if (ownOptimizer) run.track(optimizer);
      let lossSum: tf.Scalar = tf.scalar(0);
      try {
        model.train();
        while (step < chunkEnd) {
          // Layers' NaN checks read their inputs back on every call; the loop's own check of
          // the loss every logEvery steps replaces them, so they are off during updates.
          const next = withInputsChecked(() =>
            tf.tidy(() => {
              const batch = nextBatch();
              const { value, grads } = tf.variableGrads(() => {
                const l = loss(batch, model);
                if (!(l instanceof tf.Tensor) || l.rank !== 0) {
                  throw new TypeError(
                    `loss: expected the loss function to return a scalar tensor, got ${l instanceof tf.Tensor ? `shape [${l.shape.join(', ')}]` : describe(l)}`,
                  );
                }
                return l as tf.Scalar;
              }, variables as tf.Variable[]);
              optimizer.applyGradients(
                opts.clipNorm === undefined ? grads : clipByGlobalNorm(grads, opts.clipNorm).grads,
              );
              return tf.add(lossSum, value) as tf.Scalar;
            }),
          );
          lossSum.dispose();
          lossSum = next;
          step++;
          if (interrupted || signal?.aborted) stoppedBy = 'interrupt';
          else if (elapsedMs() >= budgetMs) stoppedBy = 'time';
          if (stoppedBy !== null) break;
        }
      } catch (err) {
        run.end(); // frees what the chunk made, lossSum included
        throw err;
      }
      run.end(lossSum);
      // 2) Read the mean loss of the chunk (the one host read), check it.
      const meanLoss = (await lossSum.data())[0] / (step - chunkStart);
      lossSum.dispose();
      if (!Number.isFinite(meanLoss)) {
        variables.forEach((v, i) => v.assign(snapshot[i]));
        throw new Error(
          `fit: the loss became ${meanLoss} between step ${lastRead} and ${step}; ` +
            `the weights are back to those after step ${lastRead}, the last finite check ` +
            (ownOptimizer
              ? `(try a smaller lr, or clipNorm)`
              : `(the optimizer you passed holds NaN moments now: make a new one)`),
        );
      }
      tf.dispose(snapshot);
      snapshot = variables.map((v) => tf.keep(v.clone()));
      lastRead = step;
      lastLoss = meanLoss;
      const row: HistoryRow = { step, loss: meanLoss, lr: optimizer.lastLearningRate };
      // 3) Evaluate on schedule, and at the end (not after an interrupt: stop quickly).
      if (
        step % evalEvery === 0 ||
        (step === total && stoppedBy === null) ||
        stoppedBy === 'time'
      ) {
        Object.assign(row, evaluate());
        Object.assign(lastMetrics, row);
        delete lastMetrics.step;
        delete lastMetrics.loss;
        delete lastMetrics.lr;
      }
      history.push(row);
      if (stoppedBy === null && target !== undefined && target.metric in row) {
        const v = row[target.metric];
        if (targetMode === 'max' ? v >= target.value : v <= target.value) stoppedBy = 'target';
      }
      const shown: Record<string, number> = {};
      for (const [k, v] of Object.entries(row)) if (k !== 'step' && k !== 'lr') shown[k] = v;
      shown['steps/s'] = step / (elapsedMs() / 1000);
      bar.update(step, shown);
      // 4) Let the display redraw and SIGINT arrive.
      await yieldToEventLoop();
      if (stoppedBy === null && (interrupted || signal?.aborted) && step < total) {
        stoppedBy = 'interrupt';
      }
    }
    bar.done();
    barDone = true;
    if (stoppedBy === 'interrupt' && opts.progress !== false) {
      process.stderr.write(
        `fit: interrupted at step ${step}/${total}; the model keeps the weights of step ${step}\n`,
      );
    }
    return {
      history,
      stoppedBy: stoppedBy ?? 'steps',
      steps: step,
      seconds: elapsedMs() / 1000,
      metrics: lastMetrics,
      loss: lastLoss,
    };
  } finally {
    process.off('SIGINT', onSigint);
    if (!barDone) bar.done();
    tf.dispose(snapshot);
    if (ownOptimizer) optimizer.dispose();
    model.train(wasTraining);
  }
}

/** Options of `historyChart`. */
export interface HistoryChartOptions {
  /** Title of the whole figure. */
  title?: string;
  /** Log scale for the loss. Defaults to false. */
  logLoss?: boolean;
}

/**
 * The training loss against the step, and, when the history has metrics, a second panel with
 * each metric at its evaluations: `showFigure(historyChart(run.history))`.
 * @param history `FitResult.history`, at least one row
 */
export function historyChart(
  history: readonly HistoryRow[],
  opts: HistoryChartOptions = {},
): Figure {
  if (!Array.isArray(history) || history.length === 0) {
    throw new TypeError(
      `history: expected a non-empty array of rows { step, loss, lr, ... }, got ${describe(history)}`,
    );
  }
  history.forEach((row, i) => {
    if (
      row === null ||
      typeof row !== 'object' ||
      typeof row.step !== 'number' ||
      typeof row.loss !== 'number'
    ) {
      throw new TypeError(
        `history[${i}]: expected a row { step, loss, lr, ... }, got ${describe(row)}`,
      );
    }
  });
  const lossFig = lineChart(
    [{ name: 'train loss', x: history.map((r) => r.step), y: history.map((r) => r.loss) }],
    { title: 'loss', yTitle: 'loss', logY: opts.logLoss },
  );
  const names = [...new Set(history.flatMap((r) => Object.keys(r)))].filter(
    (k) => !RESERVED.has(k),
  );
  if (names.length === 0) return opts.title ? { ...lossFig, title: opts.title } : lossFig;
  const metricFig = lineChart(
    names.map((name) => {
      const rows = history.filter((r) => name in r);
      return {
        name,
        x: rows.map((r) => r.step),
        y: rows.map((r) => r[name]),
        mode: 'lines+markers' as const,
      };
    }),
    { title: 'metrics' },
  );
  return composeFigure({ title: opts.title, panels: [lossFig, metricFig], columns: 2 });
}
