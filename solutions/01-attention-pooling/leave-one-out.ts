/**
 * Reference answer to exercise 01.3: the leave-one-out loss. See the exercise file for the task.
 * @param keys `[K]`, values `[K]`, width `h > 0`
 * @returns scalar loss
 */
import * as tf from '@tensorflow/tfjs';

export function leaveOneOutLoss(keys: tf.Tensor1D, values: tf.Tensor1D, width: number): tf.Scalar {
  return tf.tidy(() => {
    const n = keys.shape[0];
    const u = tf.div(tf.sub(keys.expandDims(1), keys.expandDims(0)), width); // [K, 1] - [1, K] -> [K, K]
    // -1e30 on the diagonal: exp() of it is exactly 0 after softmax subtracts the row maximum.
    const scores = tf.add(tf.mul(tf.square(u), -0.5), tf.mul(tf.eye(n), -1e30)); // [K, K]
    const weights = tf.softmax(scores); // [K, K], zero diagonal
    const predictions = tf.matMul(weights, values.expandDims(1)).reshape([-1]); // [K, K] x [K, 1] -> [K]
    return tf.mean(tf.square(tf.sub(values, predictions))) as tf.Scalar;
  });
}
