/**
 * Reference answer to exercise 00.1: softmax with a temperature. See the exercise file for the
 * task.
 * @param scores `[..., S]` float32
 * @param temperature `tau > 0`
 * @returns weights `[..., S]`
 */
import * as tf from '@tensorflow/tfjs';

export function softmaxWithTemperature(scores: tf.Tensor, temperature: number): tf.Tensor {
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
    throw new RangeError(`temperature: expected a finite number > 0, got ${temperature}`);
  }
  return tf.tidy(() => {
    const scaled = tf.div(scores, temperature); // [..., S]
    // Subtracting the row maximum makes the largest exponent 0: no overflow, same weights.
    const shifted = tf.sub(scaled, tf.max(scaled, -1, true)); // [..., S] - [..., 1]
    const e = tf.exp(shifted);
    return tf.div(e, tf.sum(e, -1, true)); // [..., S] / [..., 1]
  });
}
