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
import { op } from '../core/op';
import { checkInt, checkShape, dimOf } from '../core/shapes';
import type { AttentionMaskOptions } from './masks';
import { checkAttentionInputs, scaledDotProductAttention, type AttentionResult } from './pooling';

/**
 * Splits the feature axis into heads; head `i` owns features `[i*Dh, (i+1)*Dh)`.
 * @param x `[B, T, D]`
 * @returns `[B, H, T, Dh]`
 */
export function splitHeads(x: tf.Tensor, numHeads: number): tf.Tensor4D {
  return op(
    'splitHeads',
    () => {
      checkInt(numHeads, 'numHeads');
      const width = checkShape(x, ['B', 'T', 'D'], 'x').D.size;
      if (width % numHeads !== 0) {
        throw new RangeError(`numHeads: expected a divisor of D = ${width}, got ${numHeads}`);
      }
    },
    () => {
      const [batch, len, width] = [dimOf(x, 0), dimOf(x, 1), dimOf(x, 2)];
      return x
        .reshape([batch, len, numHeads, width / numHeads]) // [B, T, D] -> [B, T, H, Dh]
        .transpose([0, 2, 1, 3]) as tf.Tensor4D; // -> [B, H, T, Dh]
    },
  );
}

/**
 * Inverse of `splitHeads`: concatenates the heads along the feature axis.
 * @param x `[B, H, T, Dh]`
 * @returns `[B, T, D]` with `D = H * Dh`
 */
export function mergeHeads(x: tf.Tensor): tf.Tensor3D {
  return op(
    'mergeHeads',
    () => checkShape(x, ['B', 'H', 'T', 'Dh'], 'x'),
    () => {
      const [batch, heads, len, headDim] = x.shape as number[];
      return x
        .transpose([0, 2, 1, 3]) // [B, H, T, Dh] -> [B, T, H, Dh]
        .reshape([batch, len, heads * headDim]) as tf.Tensor3D; // -> [B, T, D]
    },
  );
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
    const layers = { wQ: this.wQ, wK: this.wK, wV: this.wV, wO: this.wO };
    const entries = Object.entries(layers) as [keyof typeof layers, Linear][];
    const bias = (name: string) => w[`b${name.slice(1)}` as keyof MultiHeadAttentionWeights];
    op(
      'MultiHeadAttention.setWeights',
      () => entries.forEach(([n, l]) => l.checkWeights(w[n], bias(n), n, `b${n.slice(1)}`)),
      () => entries.forEach(([n, l]) => l.setWeights(w[n], bias(n))),
    );
  }

  /**
   * @param query `[B, T, D]`
   * @param key `[B, S, D]`
   * @param value `[B, S, D]`
   * @param opts which keys to hide: `validLens` (key padding), `causal`, `mask` (see
   *   `AttentionMaskOptions`; the same for every head unless the mask is rank 4). A decoder's
   *   self-attention gives `causal: true` and `validLens` together.
   * @returns output `[B, T, D]` and per-head weights `[B, H, T, S]`
   */
  apply(
    query: tf.Tensor,
    key: tf.Tensor,
    value: tf.Tensor,
    opts: AttentionMaskOptions = {},
  ): AttentionResult {
    const [D, numHeads] = [this.dModel, this.numHeads];
    const widths = { queryDim: D, keyDim: D, valueDim: D, numHeads };
    return op(
      'MultiHeadAttention.apply',
      () => checkAttentionInputs({ query, key, value }, opts, widths),
      () => {
        // 1) project and split: [B, T, D] -> [B, H, T, Dh]
        const [q, k, v] =
          query === key && key === value
            ? this.projectSelf(query)
            : [
                splitHeads(this.wQ.apply(query), this.numHeads),
                splitHeads(this.wK.apply(key), this.numHeads),
                splitHeads(this.wV.apply(value), this.numHeads),
              ];
        // 2) attend in every head at once (masks broadcast over H): weights [B, H, T, S]
        const { output, weights } = scaledDotProductAttention(q, k, v, opts);
        // 3) merge heads and mix them: [B, H, T, Dh] -> [B, T, D]
        return { output: this.wO.apply(mergeHeads(output)), weights };
      },
    );
  }

  /**
   * Self-attention's three projections of the same `x [B, T, D]` as one product with the weights
   * side by side, `[B*T, D] x [D, 3D]`, and one transpose into heads: the same values as three
   * `Linear`s and `splitHeads`, in a third of the products and transposes (forward and backward).
   * No checks (plumbing for `apply` and the Transformer blocks).
   * @returns `q, k, v`, `[B, H, T, Dh]` each
   */
  projectSelf(x: tf.Tensor): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
    const [q, k, v] = this.projectInto(x, [this.wQ, this.wK, this.wV]);
    return [q!, k!, v!];
  }

  /**
   * The keys and values of one memory `[B, S, D]` as one product, `[B*S, D] x [D, 2D]`, and one
   * transpose into heads: the same values as `splitHeads(wK.apply(memory))` and
   * `splitHeads(wV.apply(memory))`. No checks (plumbing for the Transformer blocks).
   * @returns `k, v`, `[B, H, S, Dh]` each
   */
  projectKeysValues(memory: tf.Tensor): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const [k, v] = this.projectInto(memory, [this.wK, this.wV]);
    return { k: k!, v: v! };
  }

  /** `x [B, T, D]` through `n` of the projections at once: `n x [B, H, T, Dh]`. */
  private projectInto(x: tf.Tensor, layers: Linear[]): tf.Tensor4D[] {
    const [batch, len] = [dimOf(x, 0), dimOf(x, 1)];
    const [D, H, n] = [this.dModel, this.numHeads, layers.length];
    const w = tf.concat(
      layers.map((l) => l.weight),
      1,
    ); // n x [D, D] -> [D, nD]
    let proj = tf.matMul(x.reshape([batch * len, D]), w); // [B*T, D] x [D, nD] -> [B*T, nD]
    const biases = layers.map((l) => l.bias);
    if (biases.every((b) => b !== null)) proj = tf.add(proj, tf.concat(biases as tf.Tensor[])); // + [nD]
    const heads = proj
      .reshape([batch, len, n, H, D / H]) // [B*T, nD] -> [B, T, n, H, Dh]
      .transpose([2, 0, 3, 1, 4]); // -> [n, B, H, T, Dh]
    return tf.unstack(heads) as tf.Tensor4D[]; // -> n x [B, H, T, Dh]
  }
}
