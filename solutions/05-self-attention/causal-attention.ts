/**
 * Reference answer to exercise 05.3: a causal mask and masked self-attention. See the exercise
 * file for the task.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * @param length `T`
 * @returns bool `[T, T]`, entry `[t, s]` true when `s <= t`
 */
export function causalMask(length: number): tf.Tensor2D {
  return tf.tidy(() => {
    const t = tf.range(0, length).reshape([length, 1]); // query index, [T, 1]
    const s = tf.range(0, length).reshape([1, length]); // key index, [1, T]
    return tf.lessEqual(s, t) as tf.Tensor2D; // [T, T]
  });
}

/** What `causalSelfAttention` returns. */
export interface CausalAttentionOutput {
  /** `[B, T, T]`: each row sums to 1 over the keys it may see, 0 elsewhere. */
  weights: tf.Tensor3D;
  /** `[B, T, Dv]` */
  output: tf.Tensor3D;
}

/**
 * @param query `[B, T, D]`
 * @param key `[B, T, D]`
 * @param value `[B, T, Dv]`
 * @param validLens optional `[B]` int32, each in `[1, T]`
 */
export function causalSelfAttention(
  query: tf.Tensor3D,
  key: tf.Tensor3D,
  value: tf.Tensor3D,
  validLens?: tf.Tensor1D,
): CausalAttentionOutput {
  return tf.tidy(() => {
    const [batch, len, width] = query.shape;
    // [B, T, D] x [B, T, D]^T -> [B, T, T]
    const scores = tf.div(tf.matMul(query, key, false, true), Math.sqrt(width));
    let keep = causalMask(len).expandDims(0); // [1, T, T]
    if (validLens !== undefined) {
      const s = tf.range(0, len).reshape([1, 1, len]); // [1, 1, T]
      const padding = tf.less(s, validLens.toFloat().reshape([batch, 1, 1])); // [B, 1, T]
      keep = tf.logicalAnd(keep, padding); // [B, T, T]
    }
    const keepAll = keep.broadcastTo([batch, len, len]);
    const weights = tf.softmax(tf.where(keepAll, scores, tf.fill(scores.shape, -Infinity)));
    const output = tf.matMul(weights, value); // [B, T, T] x [B, T, Dv] -> [B, T, Dv]
    return { weights: weights as tf.Tensor3D, output: output as tf.Tensor3D };
  });
}
