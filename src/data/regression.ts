/**
 * The toy regression problem of chapter 01: noisy samples of `f(x) = 2 sin(x) + x`. It is small
 * enough to look at every attention weight, and curved enough that a badly chosen kernel width
 * visibly under- or over-smooths.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInt, checkPositive } from '../core/shapes';
import { createRng } from '../core/random';

/** The noise-free target `f(x) = 2 sin(x) + x`. */
export function regressionTruth(x: number): number {
  return 2 * Math.sin(x) + x;
}

/** Options of `makeRegressionData`. */
export interface RegressionDataOptions {
  /** Number of training points `K`. Defaults to 50: few enough to see each one in a heatmap. */
  numTrain?: number;
  /** Number of test-grid points `Q`. Defaults to 50. */
  numTest?: number;
  /** Inputs lie in `[0, xMax]`. Defaults to 5, a little less than one period and a half of sin. */
  xMax?: number;
  /** Standard deviation of the Gaussian noise on training targets. Defaults to 0.5. */
  noiseStd?: number;
  /** Seed of the generator; the same seed gives the same data everywhere. Defaults to 0. */
  seed?: number;
}

/** Arrays of the data set (for charts and hand computations). */
export interface RegressionArrays {
  /** `[K]` training inputs, sorted ascending, uniform on `[0, xMax]`. */
  xTrain: number[];
  /** `[K]` training targets `f(x_i) + eps_i`, `eps_i ~ N(0, noiseStd^2)`. */
  yTrain: number[];
  /** `[Q]` evenly spaced test inputs `x_j = xMax * j / (Q - 1)` (one point at 0 when Q = 1). */
  xTest: number[];
  /** `[Q]` noise-free targets `f(x_j)` on the test grid. */
  yTest: number[];
}

/** The data set as float32 tensors `[K]`, `[K]`, `[Q]`, `[Q]`, plus the same values as arrays. */
export interface RegressionData {
  xTrain: tf.Tensor1D;
  yTrain: tf.Tensor1D;
  xTest: tf.Tensor1D;
  yTest: tf.Tensor1D;
  arrays: RegressionArrays;
  /** Frees the four tensors. */
  dispose(): void;
}

/**
 * The seeded arrays of the `y = 2 sin(x) + x + noise` data set (no tensors). Training inputs are
 * drawn uniformly on `[0, xMax]` and then sorted, so that heatmaps of attention weights over keys
 * read left to right like the x axis; the noise is drawn after the inputs.
 */
export function regressionArrays(opts: RegressionDataOptions = {}): RegressionArrays {
  const { numTrain = 50, numTest = 50, xMax = 5, noiseStd = 0.5, seed = 0 } = opts;
  checkInt(numTrain, 'numTrain', 1);
  checkInt(numTest, 'numTest', 1);
  checkPositive(xMax, 'xMax');
  if (typeof noiseStd !== 'number' || !Number.isFinite(noiseStd) || noiseStd < 0) {
    throw new RangeError(`noiseStd: expected a finite number >= 0, got ${String(noiseStd)}`);
  }
  const rng = createRng(seed); // throws on a non-integer seed
  const xTrain = Array.from({ length: numTrain }, () => rng.uniform() * xMax).sort((a, b) => a - b);
  const yTrain = xTrain.map((x) => regressionTruth(x) + noiseStd * rng.normal());
  const xTest = Array.from({ length: numTest }, (_, j) =>
    numTest === 1 ? 0 : (xMax * j) / (numTest - 1),
  );
  const yTest = xTest.map(regressionTruth);
  return { xTrain, yTrain, xTest, yTest };
}

/**
 * The `y = 2 sin(x) + x + noise` data set as tensors and arrays (see `regressionArrays`). The
 * caller owns the tensors: call `data.dispose()` when done.
 *
 * ```ts
 * const data = makeRegressionData({ seed: 1 });
 * const { predictions } = nadarayaWatson(data.xTest, data.xTrain, data.yTrain, { width: 0.5 });
 * ```
 */
export function makeRegressionData(opts: RegressionDataOptions = {}): RegressionData {
  const arrays = regressionArrays(opts);
  const xTrain = tf.tensor1d(arrays.xTrain, 'float32');
  const yTrain = tf.tensor1d(arrays.yTrain, 'float32');
  const xTest = tf.tensor1d(arrays.xTest, 'float32');
  const yTest = tf.tensor1d(arrays.yTest, 'float32');
  return {
    xTrain,
    yTrain,
    xTest,
    yTest,
    arrays,
    dispose: () => tf.dispose([xTrain, yTrain, xTest, yTest]),
  };
}
