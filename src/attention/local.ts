/**
 * Luong local-p attention (Luong et al., 2015, Section 3.2): instead of attending to the whole
 * source, predict an aligned position `p_t` and attend to a window `[p_t - Dw, p_t + Dw]` around it,
 * favouring positions near `p_t` with a Gaussian.
 */
import * as tf from '@tensorflow/tfjs';
import { lecunUniform } from '../core/init';
import { Linear } from '../core/linear';
import { Module, parameter } from '../core/module';
import { deriveSeed } from '../core/random';
import { checkFinite, checkInt, checkShape, withInputsChecked } from '../core/shapes';
import { checkValidLens } from './masks';
import { maskedSoftmax } from './softmax';

/** Configuration of `LocalPAttention`. */
export interface LocalPAttentionConfig {
  /** Query (decoder state) width `Dq`. */
  queryDim: number;
  /** Key (encoder state) width `Dk`. */
  keyDim: number;
  /** Hidden width `A` of the position predictor. */
  hiddenDim: number;
  /** Window half-width `Dw` (the paper calls it D; 10 there, chosen for sentences). The Gaussian uses `sigma = Dw / 2`. */
  window: number;
  /** Seed. Defaults to 0. */
  seed?: number;
}

/** What local-p returns: the usual output and weights, plus the predicted positions. */
export type LocalPResult = {
  /** `[B, T, Dv]` */
  output: tf.Tensor3D;
  /** `[B, T, S]`: align weights times the Gaussian (rows sum to at most 1, as in the paper). */
  weights: tf.Tensor3D;
  /** `[B, T]`: predicted centres `p_t`, real numbers in `[0, L_b - 1]`. */
  positions: tf.Tensor2D;
};

/**
 * In-window mask `|s - p| <= Dw and s < L`, as a float 0/1 tensor with a zero gradient: the window
 * edges are piecewise constant in `p`, and tfjs has no gradient for comparisons. The gradient of
 * `p` flows through the Gaussian instead, as in the paper.
 */
function windowMask(
  positions: tf.Tensor2D,
  lens: tf.Tensor1D,
  keyLen: number,
  window: number,
): tf.Tensor3D {
  const masked = tf.customGrad(((p: tf.Tensor, l: tf.Tensor) => {
    const s = tf.range(0, keyLen).reshape([1, 1, keyLen]); // [1, 1, S]
    const inWindow = tf.lessEqual(tf.abs(tf.sub(s, p.expandDims(2))), window); // [B, T, S]
    const valid = tf.less(s, l.reshape([-1, 1, 1])); // [B, 1, S]
    return {
      value: tf.logicalAnd(inWindow, valid).cast('float32'),
      gradFunc: () => [tf.zerosLike(p), tf.zerosLike(l)],
    };
  }) as Parameters<typeof tf.customGrad>[0]);
  return masked(positions, lens) as tf.Tensor3D;
}

/**
 * Local-p attention with Luong's "general" score.
 * 1) `p_t = (L - 1) sigmoid(v_p^T tanh(W_p h_t))` (the paper scales by the source length `S`; we
 *    scale by the last valid index `L - 1` so that `p_t` never points at padding);
 * 2) `align_t(s) = softmax over the window of h_t^T W_a h_s`;
 * 3) `a_t(s) = align_t(s) exp(-(s - p_t)^2 / (2 sigma^2))`, `sigma = Dw / 2`, not renormalised.
 * Parameters: `wP: [Dq, A]`, `vP: [A]`, `wA: [Dq, Dk]`.
 */
export class LocalPAttention extends Module {
  readonly wP: Linear;
  readonly vP: tf.Variable;
  readonly wA: Linear;

  constructor(readonly config: LocalPAttentionConfig) {
    super();
    const { queryDim, keyDim, hiddenDim, window, seed = 0 } = config;
    // The caller's field names, before the inner layers would report `inFeatures`/`outFeatures`.
    checkInt(queryDim, 'queryDim');
    checkInt(keyDim, 'keyDim');
    checkInt(hiddenDim, 'hiddenDim');
    checkInt(window, 'window', 0);
    this.wP = new Linear({
      inFeatures: queryDim,
      outFeatures: hiddenDim,
      bias: false,
      seed: deriveSeed(seed, 'wP'),
    });
    this.vP = parameter(lecunUniform([hiddenDim], hiddenDim, deriveSeed(seed, 'vP')));
    this.wA = new Linear({
      inFeatures: queryDim,
      outFeatures: keyDim,
      bias: false,
      seed: deriveSeed(seed, 'wA'),
    });
  }

  /**
   * @param query `[B, T, Dq]` decoder states `h_t`
   * @param key `[B, S, Dk]` encoder states `h_s`
   * @param value `[B, S, Dv]` (often the same as `key`)
   * @param validLens `[B]` source lengths `L_b >= 1`; defaults to `S` for every row
   */
  apply(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, validLens?: tf.Tensor): LocalPResult {
    const { queryDim, keyDim, hiddenDim, window } = this.config;
    const dims = checkShape(query, ['B', 'T', queryDim], 'query');
    checkShape(key, ['B', 'S', keyDim], 'key', { dims });
    checkShape(value, ['B', 'S', 'Dv'], 'value', { dims });
    checkFinite(query, 'query');
    checkFinite(key, 'key');
    checkFinite(value, 'value');
    const [batch, queryLen, keyLen] = [dims.B.size, dims.T.size, dims.S.size];
    if (validLens !== undefined) {
      checkValidLens(validLens, batch, queryLen, keyLen);
      if (validLens.rank !== 1)
        throw new Error(`validLens: expected shape [B] = [${batch}], got [${validLens.shape}]`);
      if (Math.min(...validLens.dataSync()) < 1)
        throw new RangeError('validLens: expected every source length >= 1, got 0');
    }
    // Inputs are checked above: the projections and the softmax inside need not read them again.
    return withInputsChecked(() =>
      tf.tidy(() => {
        const lens = validLens ? validLens.toFloat() : tf.fill([batch], keyLen); // [B]
        // 1) predicted centre: [B, T, Dq] -> [B*T, A] -> [B*T, 1] -> [B, T]
        const hidden = tf.tanh(this.wP.apply(query)).reshape([-1, hiddenDim]);
        const logits = tf
          .matMul(hidden, this.vP.reshape([hiddenDim, 1]))
          .reshape([batch, queryLen]);
        const positions = tf.mul(
          tf.sigmoid(logits),
          tf.sub(lens, 1).reshape([batch, 1]),
        ) as tf.Tensor2D;
        // 2) general scores, softmax inside the window: [B, T, Dk] x [B, S, Dk]^T -> [B, T, S]
        const scores = tf.matMul(this.wA.apply(query), key, false, true);
        const inWindow = windowMask(positions, lens as tf.Tensor1D, keyLen, window);
        const align = maskedSoftmax(scores, { mask: tf.cast(inWindow, 'bool') });
        // 3) favour the centre: exp(-(s - p)^2 / (2 sigma^2)), sigma = Dw / 2
        const sigma = Math.max(window / 2, 1e-6);
        const offsets = tf.sub(
          tf.range(0, keyLen).reshape([1, 1, keyLen]),
          positions.expandDims(2),
        ); // [B, T, S]
        const gaussian = tf.exp(tf.div(tf.square(offsets), -2 * sigma * sigma));
        const weights = tf.mul(align, gaussian) as tf.Tensor3D;
        const output = tf.matMul(weights, value) as tf.Tensor3D; // [B, T, S] x [B, S, Dv] -> [B, T, Dv]
        return { output, weights, positions };
      }),
    );
  }
}
