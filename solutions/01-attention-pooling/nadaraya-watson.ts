/**
 * Reference answer to exercise 01.2: Nadaraya-Watson pooling with a Gaussian kernel. See the
 * exercise file for the task.
 * @param queries `[Q]`, keys `[K]`, values `[K]`, width `h > 0`
 * @returns `weights [Q, K]` and `predictions [Q]`
 */
import * as tf from '@tensorflow/tfjs';

export function nadarayaWatson(
  queries: tf.Tensor1D,
  keys: tf.Tensor1D,
  values: tf.Tensor1D,
  width: number,
): { weights: tf.Tensor2D; predictions: tf.Tensor1D } {
  return tf.tidy(() => {
    const u = tf.div(tf.sub(queries.expandDims(1), keys.expandDims(0)), width); // [Q, 1] - [1, K] -> [Q, K]
    // softmax(-u^2 / 2) is the normalised Gaussian kernel, without underflow for tiny widths.
    const weights = tf.softmax(tf.mul(tf.square(u), -0.5)) as tf.Tensor2D; // [Q, K]
    const predictions = tf.matMul(weights, values.expandDims(1)).reshape([-1]) as tf.Tensor1D; // [Q, K] x [K, 1] -> [Q]
    return { weights, predictions };
  });
}
