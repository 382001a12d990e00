/**
 * Exercise 06.1: the forward pass of a Transformer encoder block (reference answer).
 *
 *   post-norm: h = LN1(x + SelfAttn(x)),    out = LN2(h + FFN(h))
 *   pre-norm:  h = x + SelfAttn(LN1(x)),    out = h + FFN(LN2(h))
 *
 * @param x `[B, S, D]` the input positions
 * @param srcValidLens `[B]` int32 lengths, each in [1, S]
 * @param w the block's weights (see `EncoderBlockWeights`)
 * @param numHeads `H`, a divisor of `D`
 * @param norm `'post'` or `'pre'`
 * @returns `[B, S, D]`
 */
import * as tf from '@tensorflow/tfjs';

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
  return tf.tidy(() => {
    const [B, S, D] = x.shape;
    const H = numHeads;
    const Dh = D / H;
    // z W + b over the last axis: [B, S, in] -> [B*S, in] x [in, out] -> [B, S, out]
    const linear = (z: tf.Tensor, wt: tf.Tensor2D, b: tf.Tensor1D) =>
      tf.add(tf.matMul(z.reshape([-1, wt.shape[0]]), wt), b).reshape([B, S, wt.shape[1]]);
    const layerNorm = (z: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D) => {
      const { mean, variance } = tf.moments(z, -1, true); // [B, S, 1] each, biased variance
      return tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
    };
    const split = (z: tf.Tensor) => z.reshape([B, S, H, Dh]).transpose([0, 2, 1, 3]); // [B, S, D] -> [B, H, S, Dh]
    // padding keys: 0 where kept, -1e9 where padding, [B, 1, 1, S] (broadcast over heads and queries)
    const keep = tf.less(
      tf.range(0, S, 1, 'int32').reshape([1, 1, 1, S]),
      srcValidLens.reshape([B, 1, 1, 1]),
    );
    const bias = tf.where(keep, tf.zeros([B, 1, 1, S]), tf.fill([B, 1, 1, S], -1e9));
    const selfAttn = (z: tf.Tensor) => {
      const q = split(linear(z, w.wQ, w.bQ));
      const k = split(linear(z, w.wK, w.bK));
      const v = split(linear(z, w.wV, w.bV));
      const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(Dh)), bias); // [B, H, S, S]
      const heads = tf.matMul(tf.softmax(scores), v); // [B, H, S, S] x [B, H, S, Dh] -> [B, H, S, Dh]
      const merged = heads.transpose([0, 2, 1, 3]).reshape([B, S, D]); // -> [B, S, D]
      return linear(merged, w.wO, w.bO);
    };
    const ffn = (z: tf.Tensor) => linear(tf.relu(linear(z, w.w1, w.b1)), w.w2, w.b2);
    if (norm === 'post') {
      const h = layerNorm(tf.add(x, selfAttn(x)), w.gamma1, w.beta1);
      return layerNorm(tf.add(h, ffn(h)), w.gamma2, w.beta2) as tf.Tensor3D;
    }
    const h = tf.add(x, selfAttn(layerNorm(x, w.gamma1, w.beta1)));
    return tf.add(h, ffn(layerNorm(h, w.gamma2, w.beta2))) as tf.Tensor3D;
  });
}
