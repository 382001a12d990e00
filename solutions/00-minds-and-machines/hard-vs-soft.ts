/**
 * Reference answer to exercise 00.3: hard and soft selection. See the exercise file for the task.
 * @param scores `[B, S]` float32
 * @param values `[B, S, D]` float32
 */
import * as tf from '@tensorflow/tfjs';

/** `output_b = sum_s w_bs values[b, s]`. */
function weightedSum(weights: tf.Tensor2D, values: tf.Tensor3D): tf.Tensor2D {
  const [b, s, d] = values.shape;
  return tf.matMul(weights.reshape([b, 1, s]), values).reshape([b, d]); // [B, 1, S] x [B, S, D] -> [B, 1, D] -> [B, D]
}

export function hardSelect(
  scores: tf.Tensor2D,
  values: tf.Tensor3D,
): { weights: tf.Tensor2D; output: tf.Tensor2D } {
  return tf.tidy(() => {
    const weights = tf.oneHot(tf.argMax(scores, -1), scores.shape[1]).toFloat() as tf.Tensor2D; // [B] -> [B, S]
    return { weights, output: weightedSum(weights, values) };
  });
}

export function softSelect(
  scores: tf.Tensor2D,
  values: tf.Tensor3D,
): { weights: tf.Tensor2D; output: tf.Tensor2D } {
  return tf.tidy(() => {
    const weights = tf.softmax(scores) as tf.Tensor2D; // [B, S], stable: subtracts the row maximum
    return { weights, output: weightedSum(weights, values) };
  });
}
