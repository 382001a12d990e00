/**
 * Reference answer to exercise 00.2: the entropy of attention weights. See the exercise file for
 * the task.
 * @param weights `[..., S]` float32
 * @returns entropy `[...]`
 */
import * as tf from '@tensorflow/tfjs';

export function attentionEntropy(weights: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    // ln(1) = 0 stands in for ln(0), so a zero weight adds 0 * 0 instead of 0 * -Infinity.
    const safe = tf.where(tf.greater(weights, 0), weights, tf.onesLike(weights));
    return tf.neg(tf.sum(tf.mul(weights, tf.log(safe)), -1)); // [..., S] -> [...]
  });
}
