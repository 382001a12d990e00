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
import { op } from '../core/op';
import { checkDtype, checkInt, checkShape, dimOf } from '../core/shapes';
import { attentionMask, combineMasks, type AttentionMaskOptions } from './masks';
import { checkAttentionInputs } from './pooling';
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
  /** `[B, T]`: predicted centres `p_t`, real numbers in `[0, L - 1]` (`L` the source length). */
  positions: tf.Tensor2D;
};

/**
 * The window of local attention as a float 0/1 mask: `1` where `|s - p| <= Dw` and `s < L`, so
 * the window is truncated at the sentence edges and at the valid length. The mask has a zero
 * gradient (the window edges are piecewise constant in `p`, and tfjs has no gradient for
 * comparisons): the gradient of `p` flows through the Gaussian instead, as in the paper.
 * Shared by `LocalPAttention` and `LuongSeq2Seq`'s local-m and local-p.
 * @param positions `[B, T]` centres `p` (real numbers)
 * @param lens `[B, 1]` or `[B, T]` float32 valid lengths `L`
 * @param keyLen `S`, the padded source length
 * @param window `Dw >= 0`, the window half-width
 * @returns `[B, T, S]` float32, 1 inside the truncated window and 0 elsewhere
 */
export function localWindowMask(
  positions: tf.Tensor2D,
  lens: tf.Tensor,
  keyLen: number,
  window: number,
): tf.Tensor3D {
  return op(
    'localWindowMask',
    () => {
      const dims = checkShape(positions, ['B', 'T'], 'positions');
      checkShape(lens, ['B', null], 'lens', { dims });
      checkDtype(lens, 'float32', 'lens');
      checkInt(keyLen, 'keyLen');
      if (typeof window !== 'number' || !(window >= 0)) {
        throw new RangeError(`window: expected a number >= 0, got ${String(window)}`);
      }
    },
    () => {
      const masked = tf.customGrad(((p: tf.Tensor, l: tf.Tensor) => {
        const s = tf.range(0, keyLen).reshape([1, 1, keyLen]); // [1, 1, S]
        const inWindow = tf.lessEqual(tf.abs(tf.sub(s, p.expandDims(2))), window); // [B, T, S]
        const valid = tf.less(s, l.expandDims(2)); // [B, 1 or T] -> [B, 1 or T, 1] vs [1, 1, S]
        return {
          value: tf.logicalAnd(inWindow, valid).cast('float32'),
          gradFunc: () => [tf.zerosLike(p), tf.zerosLike(l)],
        };
      }) as Parameters<typeof tf.customGrad>[0]);
      return masked(positions, lens) as tf.Tensor3D;
    },
  );
}

/**
 * Local-p attention with Luong's "general" score.
 * 1) `p_t = (L - 1) sigmoid(v_p^T tanh(W_p h_t))` (the paper scales by the source length `S`; we
 *    scale by the last valid index `L - 1` so that `p_t` never points at padding; chapter 04's
 *    `LuongSeq2Seq` follows the paper instead, `p_t = L sigmoid(...)`, see `src/models/luong.ts`);
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
   * @param opts `validLens`: source lengths `L >= 1`, `[B]` (or `[B, T]`), defaulting to `S`;
   *   `causal` and `mask` hide keys inside the window too (see `AttentionMaskOptions`)
   */
  apply(
    query: tf.Tensor,
    key: tf.Tensor,
    value: tf.Tensor,
    opts: AttentionMaskOptions = {},
  ): LocalPResult {
    const { queryDim, keyDim, hiddenDim, window } = this.config;
    return op(
      'LocalPAttention.apply',
      () => {
        checkAttentionInputs({ query, key, value }, opts, { queryDim, keyDim });
        if (opts.validLens !== undefined && Math.min(...opts.validLens.dataSync()) < 1)
          throw new RangeError('validLens: expected every source length >= 1, got 0');
      },
      () => {
        const [batch, queryLen, keyLen] = [dimOf(query, 0), dimOf(query, 1), dimOf(key, 1)];
        // [B] -> [B, 1] (one length for every query) or [B, T]; S when not given
        const given = opts.validLens?.toFloat();
        const lens = given ? given.reshape([batch, -1]) : tf.fill([batch, 1], keyLen);
        // 1) predicted centre: [B, T, Dq] -> [B*T, A] -> [B*T, 1] -> [B, T]
        const hidden = tf.tanh(this.wP.apply(query)).reshape([-1, hiddenDim]);
        const logits = tf
          .matMul(hidden, this.vP.reshape([hiddenDim, 1]))
          .reshape([batch, queryLen]);
        const positions = tf.mul(tf.sigmoid(logits), tf.sub(lens, 1)) as tf.Tensor2D; // [B, T]
        // 2) general scores, softmax inside the window: [B, T, Dk] x [B, S, Dk]^T -> [B, T, S]
        const scores = tf.matMul(this.wA.apply(query), key, false, true);
        const inWindow = tf.cast(localWindowMask(positions, lens, keyLen, window), 'bool');
        const { keep, bias } = attentionMask(
          { causal: opts.causal, mask: opts.mask },
          scores.shape,
        );
        const biased = bias ? tf.add(scores, bias) : scores;
        const align = maskedSoftmax(biased, { mask: combineMasks(inWindow, keep) });
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
      },
    );
  }
}
