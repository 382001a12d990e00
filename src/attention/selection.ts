/**
 * Hard and soft selection, and how spread out attention is (chapter 00).
 *
 * Hard attention picks one item (Xu et al., 2015, "hard" attention samples one location; here
 * the most likely one, the argmax); soft attention takes the weighted average of all of them with
 * softmax weights. The temperature of the softmax moves between the two, and the entropy of the
 * weights measures where on that scale a distribution sits: 0 for a one-hot choice, `ln S` for
 * the uniform average over S items.
 */
import * as tf from '@tensorflow/tfjs';
import {
  assertTensor,
  checkDtype,
  checkFinite,
  checkPositive,
  checkRows,
  checkShape,
  formatShape,
} from '../core/shapes';
import { softmax } from './softmax';

/**
 * Entropy of attention weights along the last axis, in nats (natural log):
 * `H(w) = -sum_s w_s ln w_s`, with `0 ln 0 = 0` (the limit of `w ln w` as `w -> 0`).
 * One-hot weights give 0, uniform weights over S items give `ln S`, the maximum.
 * @param weights `[..., S]` float32, non-negative (normally each row sums to 1)
 * @returns `[...]` (the last axis removed; a scalar for `[S]`)
 */
export function attentionEntropy(weights: tf.Tensor): tf.Tensor {
  checkRows(weights, 'weights');
  const min = tf.tidy(() => tf.min(weights).dataSync()[0]);
  if (min < 0) {
    throw new RangeError(`weights: expected non-negative values (probabilities), got ${min}`);
  }
  return tf.tidy(() => {
    // ln(1) = 0 stands in for ln(0), so that zero weights add 0 instead of 0 * -Infinity = NaN.
    const safeLog = tf.log(tf.where(tf.greater(weights, 0), weights, tf.onesLike(weights)));
    return tf.neg(tf.sum(tf.mul(weights, safeLog), -1)); // [..., S] -> [...]
  });
}

/** What `hardSelection` and `softSelection` return. */
export interface SelectionResult {
  /** `[B, S]`: one-hot for hard selection, softmax weights for soft selection. */
  weights: tf.Tensor2D;
  /** `[B, D]`: the selected value, or the weighted average of the values. */
  output: tf.Tensor2D;
}

/** Checks scores `[B, S]` and values `[S, D]` (shared by the batch) or `[B, S, D]`. */
function checkSelectionInputs(scores: tf.Tensor2D, values: tf.Tensor): void {
  const dims = checkShape(scores, ['B', 'S'], 'scores');
  checkDtype(scores, 'float32', 'scores');
  assertTensor(values, 'values');
  if (values.rank === 2) checkShape(values, ['S', 'D'], 'values', { dims });
  else if (values.rank === 3) checkShape(values, ['B', 'S', 'D'], 'values', { dims });
  else {
    throw new Error(`values: expected shape [S, D] or [B, S, D], got ${formatShape(values.shape)}`);
  }
  checkDtype(values, 'float32', 'values');
  checkFinite(scores, 'scores');
  checkFinite(values, 'values');
}

/** `output_b = sum_s w_bs v_(b)s`, for values `[S, D]` or `[B, S, D]`. */
function pool(weights: tf.Tensor2D, values: tf.Tensor): tf.Tensor2D {
  if (values.rank === 2) return tf.matMul(weights, values as tf.Tensor2D); // [B, S] x [S, D] -> [B, D]
  const [b, s] = weights.shape;
  const w = weights.reshape([b, 1, s]) as tf.Tensor3D; // [B, S] -> [B, 1, S]
  const d = values.shape[2] as number;
  const out = tf.matMul(w, values as tf.Tensor3D); // [B, 1, S] x [B, S, D] -> [B, 1, D]
  return out.reshape([b, d]) as tf.Tensor2D; // [B, 1, D] -> [B, D]
}

/**
 * Hard selection: attend to exactly one item, the one with the highest score (the first one on a
 * tie), `w = onehot(argmax_s scores_s)`, `output = v_argmax`. Not differentiable in the scores:
 * a small change of a score changes the output either not at all or by a jump.
 * @param scores `[B, S]`
 * @param values `[S, D]` (the same items for every row) or `[B, S, D]`
 * @returns weights `[B, S]` (one-hot) and output `[B, D]`
 */
export function hardSelection(scores: tf.Tensor2D, values: tf.Tensor): SelectionResult {
  checkSelectionInputs(scores, values);
  return tf.tidy(() => {
    const s = scores.shape[1];
    const weights = tf.oneHot(tf.argMax(scores, -1), s).toFloat() as tf.Tensor2D; // [B] -> [B, S]
    return { weights, output: pool(weights, values) };
  });
}

/**
 * Soft selection: the weighted average of all values with softmax weights,
 * `w = softmax(scores / tau)`, `output = sum_s w_s v_s`. Differentiable, so it can be trained
 * with gradients; `tau -> 0` approaches hard selection, `tau -> infinity` the plain average.
 * @param scores `[B, S]`
 * @param values `[S, D]` or `[B, S, D]`
 * @param temperature `tau > 0`. Defaults to 1.
 * @returns weights `[B, S]` and output `[B, D]`
 */
export function softSelection(
  scores: tf.Tensor2D,
  values: tf.Tensor,
  temperature = 1,
): SelectionResult {
  checkSelectionInputs(scores, values);
  checkPositive(temperature, 'temperature');
  return tf.tidy(() => {
    const weights = softmax(scores, temperature) as tf.Tensor2D; // [B, S]
    return { weights, output: pool(weights, values) };
  });
}

/** What `temperatureSweep` returns. */
export interface TemperatureSweep {
  /** The temperatures, one per row. */
  temperatures: number[];
  /** `[K, S]`: row k is `softmax(scores / temperatures[k])`. */
  weights: tf.Tensor2D;
  /** `[K]`: the entropy of each row, in nats. */
  entropy: tf.Tensor1D;
}

/**
 * The same scores turned into weights at several temperatures, with the entropy of each row:
 * from nearly one-hot (small `tau`, entropy near 0) to nearly uniform (large `tau`, entropy near
 * `ln S`).
 * @param scores `[S]`
 * @param temperatures K positive numbers
 */
export function temperatureSweep(scores: tf.Tensor1D, temperatures: number[]): TemperatureSweep {
  checkShape(scores, ['S'], 'scores');
  checkDtype(scores, 'float32', 'scores');
  if (!Array.isArray(temperatures) || temperatures.length === 0) {
    throw new Error(
      `temperatures: expected a non-empty array of numbers > 0, got ${String(temperatures)}`,
    );
  }
  temperatures.forEach((t, k) => checkPositive(t, `temperatures[${k}]`));
  return tf.tidy(() => {
    const rows = temperatures.map((t) => softmax(scores, t)); // K x [S]
    const weights = tf.stack(rows) as tf.Tensor2D; // [K, S]
    return {
      temperatures: [...temperatures],
      weights,
      entropy: attentionEntropy(weights) as tf.Tensor1D,
    };
  });
}
