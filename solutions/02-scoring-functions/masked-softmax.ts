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
    // -Infinity makes exp() exactly 0 whatever the other scores (a finite fill such as -1e30
    // fails once real scores are below it); tf.softmax subtracts the row maximum, so large
    // scores do not overflow.
    const filled = tf.where(keep, scores, tf.fill(scores.shape, -Infinity));
    // A row with no valid key is all -Infinity, whose softmax is NaN: where() makes it zeros.
    return tf.where(keep, tf.softmax(filled), tf.zerosLike(scores)) as tf.Tensor3D;
  });
}
