/**
 * Reference answer to exercise 02.2: additive attention scores. See the exercise file for the task.
 * `scores[b, t, s] = v^T tanh(W_q^T q[b, t] + W_k^T k[b, s])`
 * @param queries `[B, T, Dq]`
 * @param keys `[B, S, Dk]`
 * @param wQ `[Dq, A]`
 * @param wK `[Dk, A]`
 * @param v `[A]`
 * @returns scores `[B, T, S]`
 */
import * as tf from '@tensorflow/tfjs';

export function additiveScores(
  queries: tf.Tensor3D,
  keys: tf.Tensor3D,
  wQ: tf.Tensor2D,
  wK: tf.Tensor2D,
  v: tf.Tensor1D,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, queryLen, queryDim] = queries.shape;
    const [, keyLen, keyDim] = keys.shape;
    const hidden = v.shape[0];
    // 1) project: [B*T, Dq] x [Dq, A] -> [B, T, 1, A] and [B*S, Dk] x [Dk, A] -> [B, 1, S, A]
    const q = tf.matMul(queries.reshape([-1, queryDim]), wQ).reshape([batch, queryLen, 1, hidden]);
    const k = tf.matMul(keys.reshape([-1, keyDim]), wK).reshape([batch, 1, keyLen, hidden]);
    // 2) every (query, key) pair through tanh: [B, T, 1, A] + [B, 1, S, A] -> [B, T, S, A]
    const features = tf.tanh(tf.add(q, k));
    // 3) dot product with v over the hidden axis: [B, T, S, A] . [A] -> [B, T, S]
    return tf.sum(tf.mul(features, v), -1) as tf.Tensor3D;
  });
}
