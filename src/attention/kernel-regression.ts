/**
 * Nadaraya-Watson kernel regression (Nadaraya, 1964; Watson, 1964), the oldest attention pooling:
 * `f(x) = sum_i K((x - x_i) / h) y_i / sum_j K((x - x_j) / h)`.
 * The query is `x`, the keys are the training inputs `x_i`, the values their targets `y_i`, and
 * the normalised kernel values are the attention weights.
 */
import * as tf from '@tensorflow/tfjs';
import {
  assertTensor,
  checkDtype,
  checkFinite,
  checkPositive,
  checkShape,
  finiteChecksEnabled,
  formatShape,
  withInputsChecked,
} from '../core/shapes';
import { maskedSoftmax } from './softmax';

/** The kernels the course compares. */
export type KernelName = 'gaussian' | 'boxcar' | 'epanechnikov';

/** Every kernel name, for loops and error messages. */
export const KERNEL_NAMES: readonly KernelName[] = ['gaussian', 'boxcar', 'epanechnikov'];

/**
 * Evaluates a kernel at scaled distances `u = (query - key) / h`. Constant factors are dropped
 * because Nadaraya-Watson normalises them away.
 * - gaussian `K(u) = exp(-u^2 / 2)`
 * - boxcar `K(u) = 1` if `|u| <= 1`, else 0
 * - epanechnikov `K(u) = max(0, 1 - u^2)`
 */
export function kernelValues(name: KernelName, u: tf.Tensor): tf.Tensor {
  assertTensor(u, 'u');
  return tf.tidy(() => {
    switch (name) {
      case 'gaussian':
        return tf.exp(tf.mul(tf.square(u), -0.5));
      case 'boxcar':
        // 1 - step(|u| - 1) rather than a comparison: `step` has a (zero) gradient, `lessEqual` none.
        return tf.sub(1, tf.step(tf.sub(tf.abs(u), 1)));
      case 'epanechnikov':
        return tf.relu(tf.sub(1, tf.square(u)));
      default:
        throw new RangeError(
          `kernel: expected one of ${KERNEL_NAMES.join(', ')}, got ${String(name)}`,
        );
    }
  });
}

/** Options of `nadarayaWatson`. */
export interface NadarayaWatsonOptions {
  /** Which kernel. Defaults to `'gaussian'`. */
  kernel?: KernelName;
  /** Bandwidth `h > 0`, a number or a scalar tensor (e.g. a variable to learn). Defaults to 1. */
  width?: number | tf.Tensor;
  /** Give key `i` zero weight for query `i` (leave-one-out; needs as many queries as keys). Defaults to false. */
  excludeSelf?: boolean;
}

function checkWidth(width: number | tf.Tensor): void {
  if (typeof width === 'number') {
    checkPositive(width, 'width');
    return;
  }
  assertTensor(width, 'width');
  if (width.size !== 1)
    throw new Error(`width: expected a scalar, got shape ${formatShape(width.shape)}`);
  const h = width.dataSync()[0];
  if (!(h > 0) || !Number.isFinite(h))
    throw new RangeError(`width: expected a finite number > 0, got ${h}`);
}

/**
 * Throws, in terms of `width`, when `-((query - key) / width)^2 / 2` is not a float32 number: the
 * width is so small that the squared scaled distance overflows (past about 3.4e38), and the
 * Gaussian weights can no longer be told apart.
 */
function checkScaledDistances(
  scores: tf.Tensor,
  numKeys: number,
  queries: tf.Tensor,
  keys: tf.Tensor,
  width: number | tf.Tensor,
): void {
  if (!finiteChecksEnabled()) return;
  const values = scores.dataSync();
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad < 0) return;
  const [i, j] = [Math.floor(bad / numKeys), bad % numKeys];
  const h = typeof width === 'number' ? width : width.dataSync()[0];
  const d = Math.abs(queries.dataSync()[i] - keys.dataSync()[j]);
  throw new RangeError(
    `width: ${h} is too small for these inputs: query ${i} and key ${j} are ${d} apart, and ` +
      `(${d} / width)^2 overflows float32: the Gaussian weights ` +
      `exp(-u^2 / 2) all underflow and cannot be normalised. Use width >= ${(d * 1e-19).toPrecision(2)}; at such widths each query ` +
      `already takes the value of its nearest key.`,
  );
}

/**
 * Nadaraya-Watson pooling of 1-D data.
 * @param queries `[Q]` query inputs
 * @param keys `[K]` training inputs
 * @param values `[K]` training targets
 * @returns `predictions [Q]` and `weights [Q, K]`. A query with no key inside the kernel's support
 *   (boxcar, Epanechnikov) gets all-zero weights and prediction 0.
 * @throws RangeError naming `width` when a Gaussian width is so small that the squared scaled
 *   distances overflow float32 (below about `1e-19` times the distances).
 */
export function nadarayaWatson(
  queries: tf.Tensor,
  keys: tf.Tensor,
  values: tf.Tensor,
  opts: NadarayaWatsonOptions = {},
): { predictions: tf.Tensor1D; weights: tf.Tensor2D } {
  const { kernel = 'gaussian', width = 1, excludeSelf = false } = opts;
  const dims = checkShape(queries, ['Q'], 'queries');
  checkShape(keys, ['K'], 'keys', { dims });
  checkShape(values, ['K'], 'values', { dims });
  for (const [x, name] of [
    [queries, 'queries'],
    [keys, 'keys'],
    [values, 'values'],
  ] as const) {
    checkDtype(x, 'float32', name);
    checkFinite(x, name);
  }
  checkWidth(width);
  if (!KERNEL_NAMES.includes(kernel)) {
    throw new RangeError(
      `kernel: expected one of ${KERNEL_NAMES.join(', ')}, got ${String(kernel)}`,
    );
  }
  if (excludeSelf && dims.Q.size !== dims.K.size) {
    throw new Error(
      `excludeSelf: needs as many queries as keys, got Q = ${dims.Q.size}, K = ${dims.K.size}`,
    );
  }
  return tf.tidy(() => {
    const u = tf.div(tf.sub(queries.expandDims(1), keys.expandDims(0)), width); // [Q, 1] - [1, K] -> [Q, K]
    const keep = excludeSelf ? tf.logicalNot(tf.eye(dims.Q.size).cast('bool')) : undefined;
    let weights: tf.Tensor;
    if (kernel === 'gaussian') {
      // softmax(-u^2/2) is the normalised Gaussian kernel, computed stably for small widths.
      const scores = tf.mul(tf.square(u), -0.5);
      checkScaledDistances(scores, dims.K.size, queries, keys, width);
      // Read once above: the softmax need not read the same values again.
      weights = withInputsChecked(() => maskedSoftmax(scores, { mask: keep }));
    } else {
      const k = keep
        ? tf.mul(kernelValues(kernel, u), keep.cast('float32'))
        : kernelValues(kernel, u);
      const total = tf.sum(k, 1, true); // [Q, 1]
      // An empty row (total 0) has k = 0 everywhere, so dividing by a tiny floor keeps it at 0.
      // `maximum` rather than a comparison: tfjs has no gradient for comparisons on the tape.
      weights = tf.div(k, tf.maximum(total, 1e-30));
    }
    const predictions = tf.matMul(weights, values.expandDims(1)).reshape([-1]); // [Q, K] x [K, 1] -> [Q]
    return { predictions: predictions as tf.Tensor1D, weights: weights as tf.Tensor2D };
  });
}

/**
 * Leave-one-out loss for choosing (or learning) the width: each training point is predicted from
 * all the others, `L(h) = mean_i (y_i - f_{-i}(x_i))^2`. Without leaving the point out, the best
 * width would shrink to zero and the fit would copy the noise.
 * @param keys `[K]` training inputs
 * @param values `[K]` training targets
 * @returns scalar loss
 */
export function leaveOneOutLoss(
  keys: tf.Tensor,
  values: tf.Tensor,
  opts: Omit<NadarayaWatsonOptions, 'excludeSelf'> = {},
): tf.Scalar {
  return tf.tidy(() => {
    const { predictions } = nadarayaWatson(keys, keys, values, { ...opts, excludeSelf: true });
    return tf.mean(tf.square(tf.sub(values, predictions))) as tf.Scalar;
  });
}
