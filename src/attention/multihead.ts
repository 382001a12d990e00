/**
 * Multi-head attention (Vaswani et al., 2017, Section 3.2.2):
 * `MultiHead(Q, K, V) = Concat(head_1, ..., head_H) W^O`,
 * `head_i = Attention(Q W^Q_i, K W^K_i, V W^V_i)`.
 * All heads are computed at once: one `[D, D]` projection, then the feature axis is split into
 * `H` slices of width `Dh = D / H`.
 */
import * as tf from '@tensorflow/tfjs';
import { Linear } from '../core/linear';
import { Module } from '../core/module';
import { deriveSeed } from '../core/random';
import {
  checkDtype,
  checkFinite,
  checkInt,
  checkShape,
  dimOf,
  withInputsChecked,
} from '../core/shapes';
import { causalMask, checkValidLens, combineMasks, validLensMask } from './masks';
import { scaledDotProductAttention, type AttentionResult } from './pooling';

/**
 * Splits the feature axis into heads; head `i` owns features `[i*Dh, (i+1)*Dh)`.
 * @param x `[B, T, D]`
 * @returns `[B, H, T, Dh]`
 */
export function splitHeads(x: tf.Tensor, numHeads: number): tf.Tensor4D {
  checkInt(numHeads, 'numHeads');
  checkShape(x, ['B', 'T', 'D'], 'x');
  const [batch, len, width] = [dimOf(x, 0), dimOf(x, 1), dimOf(x, 2)];
  if (width % numHeads !== 0) {
    throw new RangeError(`numHeads: expected a divisor of D = ${width}, got ${numHeads}`);
  }
  return tf.tidy(
    () =>
      x
        .reshape([batch, len, numHeads, width / numHeads]) // [B, T, D] -> [B, T, H, Dh]
        .transpose([0, 2, 1, 3]), // -> [B, H, T, Dh]
  ) as tf.Tensor4D;
}

/**
 * Inverse of `splitHeads`: concatenates the heads along the feature axis.
 * @param x `[B, H, T, Dh]`
 * @returns `[B, T, D]` with `D = H * Dh`
 */
export function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  checkShape(x, ['B', 'H', 'T', 'Dh'], 'x');
  const [batch, heads, len, headDim] = x.shape as number[];
  return tf.tidy(
    () =>
      x
        .transpose([0, 2, 1, 3]) // [B, H, T, Dh] -> [B, T, H, Dh]
        .reshape([batch, len, heads * headDim]), // -> [B, T, D]
  ) as tf.Tensor3D;
}

/** Configuration of `MultiHeadAttention`. */
export interface MultiHeadAttentionConfig {
  /** Model width `D` of queries, keys, values and output. */
  dModel: number;
  /** Number of heads `H`; must divide `dModel`. */
  numHeads: number;
  /** Biases on the four projections. Defaults to `true` (as PyTorch's `nn.MultiheadAttention`). */
  bias?: boolean;
  /** Seed of the initial weights. Defaults to 0. */
  seed?: number;
}

/** Which keys each query may see. All optional; they are combined with AND. */
export interface MultiHeadAttentionOptions {
  /**
   * `[B]`: keys at positions `>= keyValidLens[b]` are padding and get zero weight; or `[B, T]`,
   * one length per query (`keyValidLens[b, t]`).
   */
  keyValidLens?: tf.Tensor;
  /** Hide future keys: query `t` sees key `s` only when `s <= t + (S - T)`. */
  causal?: boolean;
  /** Extra bool mask broadcastable to `[B, H, T, S]` (`true` = keep). */
  mask?: tf.Tensor;
}

/** The projected weights of one layer, in our `[in, out]` layout (see `setWeights`). */
export interface MultiHeadAttentionWeights {
  wQ: tf.Tensor;
  wK: tf.Tensor;
  wV: tf.Tensor;
  wO: tf.Tensor;
  bQ?: tf.Tensor;
  bK?: tf.Tensor;
  bV?: tf.Tensor;
  bO?: tf.Tensor;
}

/** Multi-head scaled dot-product attention with key-padding and causal masks. */
export class MultiHeadAttention extends Module {
  readonly wQ: Linear;
  readonly wK: Linear;
  readonly wV: Linear;
  readonly wO: Linear;
  readonly dModel: number;
  readonly numHeads: number;

  constructor(config: MultiHeadAttentionConfig) {
    super();
    this.dModel = checkInt(config.dModel, 'dModel');
    this.numHeads = checkInt(config.numHeads, 'numHeads');
    if (this.dModel % this.numHeads !== 0) {
      throw new RangeError(
        `numHeads: expected a divisor of dModel = ${this.dModel}, got ${this.numHeads}`,
      );
    }
    const seed = config.seed ?? 0;
    const make = (label: string): Linear =>
      new Linear({
        inFeatures: this.dModel,
        outFeatures: this.dModel,
        bias: config.bias ?? true,
        seed: deriveSeed(seed, label),
      });
    this.wQ = make('wQ');
    this.wK = make('wK');
    this.wV = make('wV');
    this.wO = make('wO');
  }

  /** Loads weights in `[in, out]` layout (PyTorch's `in_proj_weight` rows and `out_proj.weight`, transposed). */
  setWeights(w: MultiHeadAttentionWeights): void {
    // Every weight is checked before any is loaded: a rejected call leaves the layer unchanged.
    this.wQ.checkWeights(w.wQ, w.bQ, 'wQ', 'bQ');
    this.wK.checkWeights(w.wK, w.bK, 'wK', 'bK');
    this.wV.checkWeights(w.wV, w.bV, 'wV', 'bV');
    this.wO.checkWeights(w.wO, w.bO, 'wO', 'bO');
    this.wQ.setWeights(w.wQ, w.bQ);
    this.wK.setWeights(w.wK, w.bK);
    this.wV.setWeights(w.wV, w.bV);
    this.wO.setWeights(w.wO, w.bO);
  }

  /**
   * @param query `[B, T, D]`
   * @param key `[B, S, D]`
   * @param value `[B, S, D]`
   * @returns output `[B, T, D]` and per-head weights `[B, H, T, S]`
   */
  apply(
    query: tf.Tensor,
    key: tf.Tensor,
    value: tf.Tensor,
    opts: MultiHeadAttentionOptions = {},
  ): AttentionResult {
    const dims = checkShape(query, ['B', 'T', this.dModel], 'query');
    checkShape(key, ['B', 'S', this.dModel], 'key', { dims });
    checkShape(value, ['B', 'S', this.dModel], 'value', { dims });
    const [batch, queryLen, keyLen] = [dims.B.size, dims.T.size, dims.S.size];
    if (opts.keyValidLens !== undefined) {
      checkValidLens(opts.keyValidLens, batch, queryLen, keyLen, 'keyValidLens');
    }
    if (opts.mask !== undefined) checkDtype(opts.mask, 'bool', 'mask');
    checkFinite(query, 'query');
    checkFinite(key, 'key');
    checkFinite(value, 'value');
    // Checked once here; the projections and the attention inside need not read them again.
    return withInputsChecked(() =>
      tf.tidy(() => {
        // 1) project and split: [B, T, D] -> [B, H, T, Dh]
        const q = splitHeads(this.wQ.apply(query), this.numHeads);
        const k = splitHeads(this.wK.apply(key), this.numHeads);
        const v = splitHeads(this.wV.apply(value), this.numHeads);
        // 2) attend in every head at once: [B, H, T, Dh] -> [B, H, T, Dh], weights [B, H, T, S]
        const mask = combineMasks(
          opts.keyValidLens && validLensMask(opts.keyValidLens, queryLen, keyLen).expandDims(1), // [B, T, S] -> [B, 1, T, S]
          opts.causal ? causalMask(queryLen, keyLen).reshape([1, 1, queryLen, keyLen]) : undefined,
          opts.mask,
        );
        const { output, weights } = scaledDotProductAttention(q, k, v, { mask });
        // 3) merge heads and mix them: [B, H, T, Dh] -> [B, T, D]
        return { output: this.wO.apply(mergeHeads(output)), weights };
      }),
    );
  }
}
