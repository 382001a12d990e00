/**
 * Reference answer to exercise 02.3: scaled dot-product attention with optional valid lengths.
 * See the exercise file for the task. `softmax(Q K^T / sqrt(D)) V`, padded keys masked out.
 * @param query `[B, T, D]`
 * @param key `[B, S, D]`
 * @param value `[B, S, Dv]`
 * @param validLens optional `[B]` int32, each in `[0, S]`
 * @returns `{ weights [B, T, S], output [B, T, Dv] }`
 */
import * as tf from '@tensorflow/tfjs';

/** What scaled dot-product attention returns. */
export interface AttentionOutput {
  /** `[B, T, S]`: each row sums to 1 (0 for a batch element with no valid key). */
  weights: tf.Tensor3D;
  /** `[B, T, Dv]`: one weighted average of the values per query. */
  output: tf.Tensor3D;
}

export function scaledDotProductAttention(
  query: tf.Tensor3D,
  key: tf.Tensor3D,
  value: tf.Tensor3D,
  validLens?: tf.Tensor1D,
): AttentionOutput {
  return tf.tidy(() => {
    const [batch, queryLen, d] = query.shape;
    const keyLen = key.shape[1];
    // 1) scores: [B, T, D] x [B, S, D]^T -> [B, T, S], divided by sqrt(D) to keep variance ~1
    const scores = tf.div(tf.matMul(query, key, false, true), Math.sqrt(d));
    // 2) weights: softmax over the keys, padded keys filled with -Infinity first
    let weights = tf.softmax(scores);
    if (validLens !== undefined) {
      const positions = tf.range(0, keyLen).reshape([1, 1, keyLen]); // [1, 1, S]
      const lens = validLens.toFloat().reshape([batch, 1, 1]); // [B] -> [B, 1, 1]
      const keep = tf.less(positions, lens).broadcastTo([batch, queryLen, keyLen]); // [B, T, S]
      const filled = tf.where(keep, scores, tf.fill(scores.shape, -Infinity));
      // A batch element with no valid key gives NaN rows (all -Infinity): where() zeros them.
      weights = tf.where(keep, tf.softmax(filled), tf.zerosLike(scores));
    }
    // 3) pool: [B, T, S] x [B, S, Dv] -> [B, T, Dv]
    const output = tf.matMul(weights, value);
    return { weights: weights as tf.Tensor3D, output: output as tf.Tensor3D };
  });
}
