/**
 * Learning the width of a Nadaraya-Watson kernel by gradient descent on the leave-one-out loss:
 * the smallest "attention model with a parameter" of the course.
 */
import * as tf from '@tensorflow/tfjs';
import { KERNEL_NAMES, leaveOneOutLoss, type KernelName } from '../attention/kernel-regression';
import { checkInt, checkPositive, checkShape } from '../core/shapes';
import { beginRun } from '../train/interrupt';

/** What `fitKernelWidth` reports after each step (and before the first). */
export interface FitWidthStep {
  /** Number of updates done so far, 0..steps. */
  step: number;
  /** Width after `step` updates. */
  width: number;
  /** Leave-one-out loss at that width. */
  loss: number;
}

/** Options of `fitKernelWidth`. */
export interface FitWidthOptions {
  /**
   * Kernel whose width is learned. Defaults to `'gaussian'`. The boxcar's loss is piecewise
   * constant in the width (zero gradient almost everywhere), so its width does not move.
   */
  kernel?: KernelName;
  /** Starting width `h_0 > 0`. Defaults to 1, deliberately too wide for the chapter's data. */
  initialWidth?: number;
  /** Number of gradient steps. Defaults to 100. */
  steps?: number;
  /**
   * Step size on `s = log h`. Defaults to 1 for `'sgd'` (the loss of the chapter's data changes by
   * less than 0.5 per unit of `s`, so steps stay below about 50% of the width) and 0.05 for
   * `'adam'` (whose steps are about `learningRate` in `s` whatever the gradient's size).
   */
  learningRate?: number;
  /** Plain gradient descent `'sgd'` (default: `s <- s - lr dL/ds`) or `'adam'`. */
  optimizer?: 'adam' | 'sgd';
  /** Called with step 0 (the start) and after every update, e.g. to drive `progress`. */
  onStep?: (info: FitWidthStep) => void;
}

/** What `fitKernelWidth` returns. */
export interface FitWidthResult {
  /** The learned width `h = exp(s)` after the last step. */
  width: number;
  /** Leave-one-out loss at the learned width. */
  loss: number;
  /** `[steps + 1]` width after 0, 1, ..., steps updates. */
  widths: number[];
  /** `[steps + 1]` leave-one-out loss at each of `widths`. */
  losses: number[];
}

/**
 * The leave-one-out loss as a function of the log-width `s`, `L(s) = LOO(h = exp(s))`. Learning
 * `s` instead of `h` keeps the width positive whatever step the optimiser takes, and makes steps
 * relative (a step of 0.1 in `s` changes `h` by about 10%, whether `h` is 0.05 or 5).
 * @param keys `[K]` training inputs (K >= 2)
 * @param values `[K]` training targets
 * @param logWidth scalar `s` (a variable, to learn it)
 * @returns scalar loss
 */
export function leaveOneOutLossAtLogWidth(
  keys: tf.Tensor,
  values: tf.Tensor,
  logWidth: tf.Tensor,
  kernel: KernelName = 'gaussian',
): tf.Scalar {
  checkShape(logWidth, [], 'logWidth');
  return tf.tidy(() => leaveOneOutLoss(keys, values, { kernel, width: tf.exp(logWidth) }));
}

/**
 * Learns the kernel width `h` of Nadaraya-Watson regression by minimising the leave-one-out loss
 *
 *   L(h) = (1/K) sum_i (y_i - f_{-i}(x_i))^2,
 *   f_{-i}(x_i) = sum_{j != i} K((x_i - x_j)/h) y_j / sum_{j != i} K((x_i - x_j)/h)
 *
 * by full-batch gradient descent on `s = log h` (see `leaveOneOutLossAtLogWidth`). Leaving each
 * point out matters: with it in, `h -> 0` copies every noisy target and the loss falls to 0.
 * Nothing is random (fixed start, full batch), so the result is the same on every run. Frees
 * every tensor it makes, the variable and the optimiser's state included. A call stopped by
 * Kernel > Interrupt cannot free anything; the next call does it (see `recoverFromInterrupt`).
 * @param keys `[K]` training inputs, float32, K >= 2
 * @param values `[K]` training targets, float32
 * @returns the learned width, its loss and the history (`[steps + 1]` each)
 */
export function fitKernelWidth(
  keys: tf.Tensor,
  values: tf.Tensor,
  opts: FitWidthOptions = {},
): FitWidthResult {
  const {
    kernel = 'gaussian',
    initialWidth = 1,
    steps = 100,
    optimizer: optimizerName = 'sgd',
    onStep,
  } = opts;
  const dims = checkShape(keys, ['K'], 'keys');
  checkShape(values, ['K'], 'values', { dims });
  if (dims.K.size < 2) {
    throw new Error(
      `keys: leave-one-out needs at least 2 training points, got shape [${dims.K.size}]`,
    );
  }
  if (!KERNEL_NAMES.includes(kernel)) {
    throw new RangeError(
      `kernel: expected one of ${KERNEL_NAMES.join(', ')}, got ${String(kernel)}`,
    );
  }
  checkPositive(initialWidth, 'initialWidth');
  checkInt(steps, 'steps', 0);
  if (optimizerName !== 'adam' && optimizerName !== 'sgd') {
    throw new RangeError(`optimizer: expected 'adam' or 'sgd', got ${String(optimizerName)}`);
  }
  const learningRate = checkPositive(
    opts.learningRate ?? (optimizerName === 'adam' ? 0.05 : 1),
    'learningRate',
  );
  if (onStep !== undefined && typeof onStep !== 'function') {
    throw new TypeError(`onStep: expected a function, got ${typeof onStep}`);
  }

  // Cleans up after an earlier call that Kernel > Interrupt stopped half-way (see interrupt.ts).
  const run = beginRun('fitKernelWidth');
  // tf.variable keeps its own reference to the initial value's data, so the scalar can go.
  const start = tf.scalar(Math.log(initialWidth));
  const logWidth = run.track(tf.variable(start, true));
  start.dispose();
  const optimizer = run.track(
    optimizerName === 'adam' ? tf.train.adam(learningRate) : tf.train.sgd(learningRate),
  );
  const widths: number[] = [];
  const losses: number[] = [];
  const record = (step: number, loss: number, width: number): void => {
    widths.push(width);
    losses.push(loss);
    onStep?.({ step, width, loss });
  };
  try {
    for (let step = 0; step < steps; step++) {
      const width = Math.exp(logWidth.dataSync()[0]);
      // minimize returns the loss before its update, i.e. the loss at `width`.
      const cost = optimizer.minimize(
        () => leaveOneOutLossAtLogWidth(keys, values, logWidth, kernel),
        true,
        [logWidth],
      );
      const loss = cost!.dataSync()[0];
      cost!.dispose();
      if (!Number.isFinite(loss)) {
        throw new Error(`fitKernelWidth: the loss became ${loss} at step ${step} (width ${width})`);
      }
      record(step, loss, width);
    }
    const width = Math.exp(logWidth.dataSync()[0]);
    const final = leaveOneOutLossAtLogWidth(keys, values, logWidth, kernel);
    const loss = final.dataSync()[0];
    final.dispose();
    record(steps, loss, width);
    return { width, loss, widths, losses };
  } finally {
    logWidth.dispose();
    optimizer.dispose();
    run.end();
  }
}
