/**
 * Exercise 04.1: Luong's global attention with the `general` score (chapter 04, "Luong attention").
 *
 * Luong et al. (2015) update the decoder first and attend afterwards: the query is the decoder's
 * CURRENT state h_t, just computed by its GRU from h_{t-1}. (Bahdanau's decoder of chapter 03
 * attended with the previous state; both states are given here so you can see the difference:
 * use the right one.) With the encoder states hbar_s (`memory`):
 *
 *   score_s = h_t^T W_a hbar_s                     the `general` score (eq. 8), [B, S]
 *   a       = softmax(score) over the positions s < srcValidLens[b]; padding gets exactly 0
 *   c_t     = sum_s a_s hbar_s                     the context, [B, M]
 *   h~_t    = tanh(W_c [c_t ; h_t])                the attentional hidden state (eq. 5), [B, D]
 *
 * In the course's `[in, out]` layout, `h_t^T W_a hbar_s` is `(h wA) . hbar_s` with `wA [D, M]`,
 * and `W_c [c ; h]` is `concat([c, h]) wC` with `wC [M + D, D]`: the context comes FIRST.
 *
 * Requirements: `weights` rows sum to 1 over the valid positions, padding positions get EXACTLY 0
 * (mask the scores before the softmax); no tensor is left behind (`tf.tidy` can return an object).
 * Tips: `tf.matMul(h, wA)` is `[B, D] x [D, M] -> [B, M]`; `.expandDims(1)` and
 * `tf.matMul(q, memory, false, true)` give `[B, 1, S]`; `tf.range(0, S, 1, 'int32')` and
 * `tf.less` build the mask; `tf.concat([c, h], 1)`.
 *
 * @param h `[B, D]` the decoder's current state h_t (the query)
 * @param hPrev `[B, D]` the decoder's previous state h_{t-1} (Bahdanau's query, not Luong's)
 * @param memory `[B, S, M]` the encoder states hbar_s
 * @param srcValidLens `[B]` int32 source lengths, each in [1, S]
 * @param wA `[D, M]` the `general` score's matrix W_a
 * @param wC `[M + D, D]` the attentional layer W_c (no bias)
 * @returns `{ weights [B, S], context [B, M], attentional [B, D] }`
 */
import * as tf from '@tensorflow/tfjs';

export function generalAttention(
  h: tf.Tensor2D,
  hPrev: tf.Tensor2D,
  memory: tf.Tensor3D,
  srcValidLens: tf.Tensor1D,
  wA: tf.Tensor2D,
  wC: tf.Tensor2D,
): { weights: tf.Tensor2D; context: tf.Tensor2D; attentional: tf.Tensor2D } {
  void hPrev; // Bahdanau's query; Luong attends with the current state h
  return tf.tidy(() => {
    const srcLen = memory.shape[1];
    // 1) general scores: (h W_a) . hbar_s, [B, D] x [D, M] -> [B, 1, M] x [B, S, M]^T -> [B, 1, S]
    const query = tf.matMul(h, wA).expandDims(1);
    const scores = tf.matMul(query, memory, false, true).squeeze([1]); // [B, S]
    // 2) softmax over the valid positions only
    const valid = tf.less(
      tf.range(0, srcLen, 1, 'int32').expandDims(0),
      srcValidLens.expandDims(1),
    ); // [1, S] < [B, 1] -> [B, S]
    const weights = tf.softmax(tf.where(valid, scores, tf.fill(scores.shape, -1e9))); // [B, S]
    // 3) context: [B, 1, S] x [B, S, M] -> [B, M]
    const context = tf.matMul(weights.expandDims(1), memory).squeeze([1]);
    // 4) h~ = tanh([c ; h] W_c): [B, M + D] x [M + D, D] -> [B, D]
    const attentional = tf.tanh(tf.matMul(tf.concat([context, h], 1), wC));
    return {
      weights: weights as tf.Tensor2D,
      context: context as tf.Tensor2D,
      attentional: attentional as tf.Tensor2D,
    };
  });
}
