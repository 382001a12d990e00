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
    // -Infinity on the diagonal: exp() of it is exactly 0, however small the other scores are.
    const self = tf.cast(tf.eye(n), 'bool'); // [K, K]
    const scores = tf.where(self, tf.fill([n, n], -Infinity), tf.mul(tf.square(u), -0.5)); // [K, K]
    const weights = tf.softmax(scores); // [K, K], zero diagonal
    const predictions = tf.matMul(weights, values.expandDims(1)).reshape([-1]); // [K, K] x [K, 1] -> [K]
    return tf.mean(tf.square(tf.sub(values, predictions))) as tf.Scalar;
  });
}
