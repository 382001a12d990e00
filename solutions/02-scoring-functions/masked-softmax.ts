/**
 * Reference answer to exercise 02.1: masked softmax. See the exercise file for the task.
 * @param scores `[B, T, S]` float32
 * @param validLens `[B]` int32, each in `[0, S]`
 * @returns weights `[B, T, S]`
 */
import * as tf from '@tensorflow/tfjs';

export function maskedSoftmax(scores: tf.Tensor3D, validLens: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, queryLen, keyLen] = scores.shape;
    const positions = tf.range(0, keyLen).reshape([1, 1, keyLen]); // [1, 1, S]
    const lens = validLens.toFloat().reshape([batch, 1, 1]); // [B] -> [B, 1, 1]
    const keep = tf.less(positions, lens).broadcastTo([batch, queryLen, keyLen]); // [B, T, S]
    // A very negative fill makes exp() vanish; tf.softmax subtracts the row maximum, so large
    // scores do not overflow.
    const filled = tf.where(keep, scores, tf.fill(scores.shape, -1e30));
    // Rows with no valid key would be uniform; multiplying by the mask makes them zero.
    return tf.mul(tf.softmax(filled), tf.cast(keep, 'float32')) as tf.Tensor3D;
  });
}
