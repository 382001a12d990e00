/**
 * Exercise 06.1: the forward pass of a Transformer encoder block (chapter 06, "The Transformer").
 *
 * An encoder block is two sub-layers, multi-head self-attention and a position-wise feed-forward
 * network, each wrapped in a residual connection and a layer norm. Where the norm sits is the
 * `norm` argument:
 *
 *   post-norm (the paper):                    pre-norm (most code since 2019):
 *     h   = LN1(x + SelfAttn(x))                 h   = x + SelfAttn(LN1(x))
 *     out = LN2(h + FFN(h))                      out = h + FFN(LN2(h))
 *
 * with
 *   SelfAttn(z) = concat_heads(softmax(Q_i K_i^T / sqrt(Dh) + padding) V_i) W_O + b_O,
 *                 Q = z W_Q + b_Q, K = z W_K + b_K, V = z W_V + b_V, split into H heads of
 *                 width Dh = D / H (head i owns features [i*Dh, (i+1)*Dh)); in batch element b,
 *                 keys s >= srcValidLens[b] are padding and get weight exactly 0;
 *   FFN(z)      = relu(z W1 + b1) W2 + b2;
 *   LN(z)       = (z - mean(z)) / sqrt(var(z) + 1e-5) * gamma + beta over the last axis, with
 *                 the biased variance (divided by D), as PyTorch's nn.LayerNorm.
 * No dropout. Weights are in the `[in, out]` layout (`y = x W + b`). Your block is compared with
 * PyTorch's `nn.TransformerEncoderLayer` (`norm_first` = pre-norm) to 1e-5.
 *
 * Requirements: output `[B, S, D]`; no tensor is left behind (`tf.tidy`).
 * Tips: for `z W` with `z` `[B, S, D]`, reshape to `[B*S, D]`, multiply, reshape back; split heads with `.reshape([B, S, H, Dh])` then
 * `.transpose([0, 2, 1, 3])`; `tf.matMul(q, k, false, true)` is `Q K^T` per head; a padding
 * mask `[B, 1, 1, S]` broadcasts over heads and queries; `tf.moments(z, -1, true)` gives the
 * mean and the (biased) variance.
 *
 * @param x `[B, S, D]` the input positions
 * @param srcValidLens `[B]` int32 lengths, each in [1, S]
 * @param w the block's weights (see `EncoderBlockWeights`)
 * @param numHeads `H`, a divisor of `D`
 * @param norm `'post'` or `'pre'`
 * @returns `[B, S, D]`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

/** The weights of one encoder block, in the `[in, out]` layout. */
export interface EncoderBlockWeights {
  /** `[D, D]` query, key, value and output projections, and their biases `[D]`. */
  wQ: tf.Tensor2D;
  wK: tf.Tensor2D;
  wV: tf.Tensor2D;
  wO: tf.Tensor2D;
  bQ: tf.Tensor1D;
  bK: tf.Tensor1D;
  bV: tf.Tensor1D;
  bO: tf.Tensor1D;
  /** Feed-forward: `w1 [D, Dff]`, `b1 [Dff]`, `w2 [Dff, D]`, `b2 [D]`. */
  w1: tf.Tensor2D;
  b1: tf.Tensor1D;
  w2: tf.Tensor2D;
  b2: tf.Tensor1D;
  /** Layer norms around the attention (1) and the feed-forward block (2): `[D]` each. */
  gamma1: tf.Tensor1D;
  beta1: tf.Tensor1D;
  gamma2: tf.Tensor1D;
  beta2: tf.Tensor1D;
}

export function encoderBlock(
  x: tf.Tensor3D,
  srcValidLens: tf.Tensor1D,
  w: EncoderBlockWeights,
  numHeads: number,
  norm: 'post' | 'pre',
): tf.Tensor3D {
  void [tf, x, srcValidLens, w, numHeads, norm];
  return notImplemented('encoderBlock', 'exercises/06-transformer/encoder-block.ts');
}
