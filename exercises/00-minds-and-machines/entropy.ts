/**
 * Exercise 00.2: the entropy of attention weights (chapter 00, "Attention in minds and machines").
 *
 * How focused is an attention distribution? Its entropy says it in one number, along the last
 * axis, in nats (natural log):
 *
 *   H(w) = - sum_s w_s ln(w_s),    with 0 ln 0 = 0
 *
 * One-hot weights (hard selection of one item) give 0; uniform weights over S items give
 * `ln S`, the largest possible value.
 *
 * Requirements:
 * - `weights` has shape `[..., S]` (non-negative, each row sums to 1); the result drops the last
 *   axis: `[S]` gives a scalar, `[B, S]` gives `[B]`, `[B, T, S]` gives `[B, T]`;
 * - weights that are exactly 0 add 0, not NaN. Careful: `ln(0) = -Infinity` and
 *   `0 * -Infinity = NaN`, so replace the zeros before taking the log (e.g.
 *   `tf.where(tf.greater(w, 0), w, tf.onesLike(w))`, since `ln 1 = 0`).
 *
 * Use tfjs ops inside `tf.tidy`: `tf.log`, `tf.mul`, `tf.sum(x, -1)`, `tf.neg`, `tf.where`.
 *
 * @param weights `[..., S]` float32
 * @returns entropy `[...]`, float32
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function attentionEntropy(weights: tf.Tensor): tf.Tensor {
  void weights;
  return notImplemented('attentionEntropy', 'exercises/00-minds-and-machines/entropy.ts');
}
