/**
 * Reference answer to exercise 03.2: one decoder step with additive attention. See the exercise
 * file for the task.
 * @param y `[B, E]` the embedded previous target tokens
 * @param sPrev `[B, D]` the previous decoder states s_{i-1}
 * @param keys `[B, S, A]` the projected annotations U h_j
 * @param memory `[B, S, M]` the annotations h_j
 * @param srcValidLens `[B]` int32 source lengths, each in [1, S]
 * @param wA `[D, A]` the query projection W_a
 * @param v `[A]` the score vector
 * @param gru the decoder GRU's weights `{ wX [E + M, 3D], wH [D, 3D], bX [3D], bH [3D] }`
 * @returns `{ weights [B, S], context [B, M], s [B, D] }`
 */
import * as tf from '@tensorflow/tfjs';

export function attentionStep(
  y: tf.Tensor2D,
  sPrev: tf.Tensor2D,
  keys: tf.Tensor3D,
  memory: tf.Tensor3D,
  srcValidLens: tf.Tensor1D,
  wA: tf.Tensor2D,
  v: tf.Tensor1D,
  gru: { wX: tf.Tensor2D; wH: tf.Tensor2D; bX: tf.Tensor1D; bH: tf.Tensor1D },
): { weights: tf.Tensor2D; context: tf.Tensor2D; s: tf.Tensor2D } {
  return tf.tidy(() => {
    const srcLen = keys.shape[1];
    // 1) scores with the previous state as the query: [B, D] x [D, A] -> [B, 1, A], + [B, S, A]
    const query = tf.matMul(sPrev, wA).expandDims(1);
    const scores = tf.sum(tf.mul(tf.tanh(tf.add(query, keys)), v), -1); // [B, S, A] . [A] -> [B, S]
    // 2) padding masked before the softmax: exp(-1e9 - max) is exactly 0 in float32
    const valid = tf.less(
      tf.range(0, srcLen, 1, 'int32').expandDims(0), // [1, S]
      srcValidLens.expandDims(1), // [B, 1]
    ); // -> [B, S]
    const weights = tf.softmax(tf.where(valid, scores, tf.fill(scores.shape, -1e9))); // [B, S]
    // 3) context: [B, 1, S] x [B, S, M] -> [B, 1, M] -> [B, M]
    const context = tf.matMul(weights.expandDims(1), memory).squeeze([1]);
    // 4) the GRU update from [y ; c] (exercise 03.1)
    const x = tf.concat([y, context], 1); // [B, E + M]
    const xp = tf.add(tf.matMul(x, gru.wX), gru.bX); // [B, E + M] x [E + M, 3D] -> [B, 3D]
    const hp = tf.add(tf.matMul(sPrev, gru.wH), gru.bH); // [B, D] x [D, 3D] -> [B, 3D]
    const [xR, xZ, xN] = tf.split(xp, 3, -1); // [B, 3D] -> 3 x [B, D]
    const [hR, hZ, hN] = tf.split(hp, 3, -1);
    const r = tf.sigmoid(tf.add(xR, hR));
    const z = tf.sigmoid(tf.add(xZ, hZ));
    const n = tf.tanh(tf.add(xN, tf.mul(r, hN)));
    const s = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, sPrev)); // [B, D]
    return {
      weights: weights as tf.Tensor2D,
      context: context as tf.Tensor2D,
      s: s as tf.Tensor2D,
    };
  });
}
