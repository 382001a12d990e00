/**
 * Exercise 04.2: the local-p window (chapter 04, "Luong attention").
 *
 * Local attention looks at a window of the source only. Luong et al.'s local-p PREDICTS where to
 * look from the decoder's current state h_t, then favours positions near that centre:
 *
 *   p_t    = L * sigmoid(v_p . tanh(h_t W_p))        eq. 9; L = srcValidLens[b], so 0 < p_t < L
 *   window = the positions s (counted from 0) with |s - p_t| <= D and s < L   (D = `window`)
 *   align  = softmax of `scores` over the window only (every other position gets exactly 0)
 *   a_t(s) = align(s) * exp(-(s - p_t)^2 / (2 sigma^2)),   sigma = D / 2       eq. 10
 *
 * The product is NOT renormalised (the paper's choice): a row sums to at most 1. `scores` are the
 * alignment scores score(h_t, hbar_s) of exercise 04.1, already computed. `p_t` is a real number:
 * the window `[p_t - D, p_t + D]` holds the integer positions within D of it, truncated at the
 * sentence edges (0 and L - 1).
 *
 * Requirements: `positions` `[B]`, `weights` `[B, S]` with exactly 0 outside the window and at
 * padding; no tensor is left behind. Tips: `tf.matMul(tf.tanh(tf.matMul(h, wP)), vP.expandDims(1))`
 * is `[B, 1]`; `tf.range(0, S)` gives the positions as floats; `tf.abs`, `tf.lessEqual`,
 * `tf.logicalAnd` and `tf.where(mask, scores, tf.fill(scores.shape, -1e9))` build the window;
 * `tf.exp`, `tf.square`.
 *
 * @param h `[B, D_h]` the decoder's current state h_t
 * @param scores `[B, S]` alignment scores of every source position
 * @param srcValidLens `[B]` int32 source lengths L, each in [1, S]
 * @param wP `[D_h, A]` the position predictor's W_p
 * @param vP `[A]` the position predictor's v_p
 * @param window the half-width D of the window, an integer >= 1
 * @returns `{ positions [B], weights [B, S] }`
 */
import * as tf from '@tensorflow/tfjs';

export function localPWeights(
  h: tf.Tensor2D,
  scores: tf.Tensor2D,
  srcValidLens: tf.Tensor1D,
  wP: tf.Tensor2D,
  vP: tf.Tensor1D,
  window: number,
): { positions: tf.Tensor1D; weights: tf.Tensor2D } {
  return tf.tidy(() => {
    const srcLen = scores.shape[1];
    const lens = srcValidLens.toFloat().expandDims(1); // [B] -> [B, 1]
    // 1) p_t = L sigmoid(v_p . tanh(h W_p)): [B, D_h] x [D_h, A] -> [B, A] x [A, 1] -> [B, 1]
    const p = tf.mul(lens, tf.sigmoid(tf.matMul(tf.tanh(tf.matMul(h, wP)), vP.expandDims(1))));
    // 2) the window |s - p| <= D, truncated at the valid length
    const s = tf.range(0, srcLen).expandDims(0); // [1, S]
    const offsets = tf.sub(s, p); // [B, S]
    const inside = tf.logicalAnd(tf.lessEqual(tf.abs(offsets), window), tf.less(s, lens)); // [B, S]
    const align = tf.softmax(tf.where(inside, scores, tf.fill(scores.shape, -1e9))); // [B, S]
    // 3) the Gaussian of sigma = D / 2 around p; exactly 0 stays 0 outside the window
    const sigma = window / 2;
    const gaussian = tf.exp(tf.div(tf.square(offsets), -2 * sigma * sigma));
    return {
      positions: p.squeeze([1]) as tf.Tensor1D,
      weights: tf.mul(align, gaussian) as tf.Tensor2D,
    };
  });
}
