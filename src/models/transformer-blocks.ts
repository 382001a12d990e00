/**
 * The two blocks of the Transformer (Vaswani et al., 2017, Section 3.1), read top to bottom:
 *
 * ```text
 * encoder block, post-norm (the paper)        pre-norm (most code since 2019)
 *   x = LN1(x + Drop(SelfAttn(x)))              x = x + Drop(SelfAttn(LN1(x)))
 *   x = LN2(x + Drop(FFN(x)))                   x = x + Drop(FFN(LN2(x)))
 *
 * decoder block, post-norm                    pre-norm
 *   x = LN1(x + Drop(SelfAttn(x, causal)))      x = x + Drop(SelfAttn(LN1(x), causal))
 *   x = LN2(x + Drop(CrossAttn(x, memory)))     x = x + Drop(CrossAttn(LN2(x), memory))
 *   x = LN3(x + Drop(FFN(x)))                   x = x + Drop(FFN(LN3(x)))
 * ```
 *
 * Post-norm normalises the residual stream itself after every sub-layer; pre-norm normalises only
 * what enters each sub-layer, so the stream `x` is a plain sum of sub-layer outputs and a stack of
 * pre-norm blocks needs one final `LayerNorm` (`TransformerSeq2Seq` adds it). The layout and the
 * weight names follow PyTorch's `nn.TransformerEncoderLayer` / `nn.TransformerDecoderLayer`
 * (`norm_first` = pre-norm), checked against them in `test/models/transformer-torch.test.ts`.
 *
 * Masks use the course's one vocabulary (`{ validLens?, causal?, mask? }`, `src/attention/masks.ts`).
 * Inside a block a mask becomes an additive bias, `0` where a key is kept and `-1e9` where it is
 * hidden, so that `exp` gives a hidden key exactly zero weight; every query must keep at least one
 * key (true for a source of length >= 1, and for causal self-attention, which keeps the query's
 * own position).
 *
 * Differences from PyTorch's layers: no dropout on the attention weights (only on the residual
 * branches and inside the feed-forward block).
 */
import * as tf from '@tensorflow/tfjs';
import { attentionMask, checkMaskOptions, type AttentionMaskOptions } from '../attention/masks';
import { MultiHeadAttention, mergeHeads, splitHeads } from '../attention/multihead';
import { checkAttentionInputs } from '../attention/pooling';
import { Dropout } from '../core/dropout';
import { FeedForward, type FeedForwardActivation } from '../core/feed-forward';
import { LayerNorm } from '../core/layer-norm';
import { Module } from '../core/module';
import { op } from '../core/op';
import { deriveSeed } from '../core/random';
import { checkFinite, checkInt, checkShape, dimOf, withInputsChecked } from '../core/shapes';
import { checkConfigObject } from './seq2seq-parts';

/** Where the layer norms sit: after each residual sum (`'post'`, the paper) or before each sub-layer (`'pre'`). */
export type NormPlacement = 'post' | 'pre';

/** Configuration of an `EncoderBlock` or a `DecoderBlock`. */
export interface TransformerBlockConfig {
  /** Model width `D`. */
  dModel: number;
  /** Heads `H`; must divide `dModel`. */
  numHeads: number;
  /** Hidden width `Dff` of the feed-forward block. Defaults to `4 * dModel` (the paper's ratio). */
  dHidden?: number;
  /** Dropout rate on each residual branch and inside the feed-forward block. Defaults to `0`. */
  dropout?: number;
  /** Layer norm placement. Defaults to `'pre'` (see `TransformerConfig.norm` for why). */
  norm?: NormPlacement;
  /** Feed-forward activation. Defaults to `'relu'` (the paper's). */
  activation?: FeedForwardActivation;
  /** Layer norm epsilon. Defaults to `1e-5` (PyTorch's). */
  eps?: number;
  /** Seed of the initial weights and dropout masks. Defaults to `0`. */
  seed?: number;
}

/** The score added to hidden keys: `exp(-1e9 - max)` is exactly 0 in float32, and it is finite. */
const HIDDEN_SCORE = -1e9;

type ResolvedBlockConfig = Required<TransformerBlockConfig>;

function resolveBlockConfig(config: TransformerBlockConfig, cls: string): ResolvedBlockConfig {
  checkConfigObject(
    config,
    cls,
    '{ dModel, numHeads, dHidden?, dropout?, norm?, activation?, eps?, seed? }',
  );
  const dModel = checkInt(config.dModel, 'dModel');
  const norm = config.norm ?? 'pre';
  if (norm !== 'pre' && norm !== 'post') {
    throw new RangeError(`norm: expected 'post' or 'pre', got ${String(norm)}`);
  }
  const dropout = config.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new RangeError(`dropout: expected a rate in [0, 1), got ${String(dropout)}`);
  }
  return {
    dModel,
    numHeads: checkInt(config.numHeads, 'numHeads'),
    dHidden: checkInt(config.dHidden ?? 4 * dModel, 'dHidden'),
    dropout,
    norm,
    activation: config.activation ?? 'relu',
    eps: config.eps ?? 1e-5,
    seed: checkInt(config.seed ?? 0, 'seed', 0),
  };
}

/**
 * The additive form of mask options for scores `[B, H, T, S]`: `0` where a key is kept, `-1e9`
 * where it is hidden (plus a float `mask`'s finite part), or `undefined` when nothing is hidden.
 * Expects options already checked. Plumbing for the blocks and `TransformerSeq2Seq`.
 * @returns a tensor broadcastable to `[B, H, T, S]` (e.g. `[B, 1, 1, S]` for `validLens`)
 */
export function attentionBias(
  opts: AttentionMaskOptions,
  scoresShape: readonly number[],
): tf.Tensor | undefined {
  return tf.tidy(() => {
    const { keep, bias } = attentionMask(opts, scoresShape);
    if (keep === undefined) return bias;
    const hidden = tf.mul(tf.sub(1, tf.cast(keep, 'float32')), HIDDEN_SCORE); // 1 -> 0, 0 -> -1e9
    return bias === undefined ? hidden : tf.add(hidden, bias);
  });
}

/**
 * Scaled dot-product attention over already split queries, keys and values, with the heads merged
 * and mixed by `mha.wO` (no checks).
 * @param q `[B, H, T, Dh]`, `k` `[B, H, S, Dh]`, `v` `[B, H, S, Dh]`
 * @param bias broadcastable to `[B, H, T, S]`, from `attentionBias`
 * @returns output `[B, T, D]` and weights `[B, H, T, S]`
 */
function attendSplit(
  mha: MultiHeadAttention,
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor | undefined,
): { output: tf.Tensor3D; weights: tf.Tensor4D } {
  const headDim = mha.dModel / mha.numHeads;
  const scaled = tf.mul(q, 1 / Math.sqrt(headDim)); // q / sqrt(Dh), cheaper than scaling [B, H, T, S]
  let scores = tf.matMul(scaled, k, false, true); // [B, H, T, Dh] x [B, H, S, Dh]^T -> [B, H, T, S]
  if (bias !== undefined) scores = tf.add(scores, bias); // + [B|1, 1, T|1, S]
  const weights = tf.softmax(scores) as tf.Tensor4D; // over S
  const heads = tf.matMul(weights, v); // [B, H, T, S] x [B, H, S, Dh] -> [B, H, T, Dh]
  return { output: mha.wO.apply(mergeHeads(heads)) as tf.Tensor3D, weights }; // -> [B, T, D]
}

/**
 * `attendSplit` with the query projected by `mha.wQ` (no checks). The same numbers as
 * `mha.apply(query, key, value, opts)` when `k`, `v` are `splitHeads(mha.wK.apply(key))`, ....
 * @param query `[B, T, D]`
 */
function attendHeads(
  mha: MultiHeadAttention,
  query: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  bias: tf.Tensor | undefined,
): { output: tf.Tensor3D; weights: tf.Tensor4D } {
  const q = splitHeads(mha.wQ.apply(query), mha.numHeads); // [B, T, D] -> [B, H, T, Dh]
  return attendSplit(mha, q, k, v, bias);
}

/**
 * Self-attention of `x` (no checks): queries, keys and values in one product
 * (`MultiHeadAttention.projectSelf`), then `attendSplit`.
 * @param x `[B, T, D]`
 */
function attendSelf(
  mha: MultiHeadAttention,
  x: tf.Tensor,
  bias: tf.Tensor | undefined,
): { output: tf.Tensor3D; weights: tf.Tensor4D } {
  const [q, k, v] = mha.projectSelf(x); // [B, T, D] -> 3 x [B, H, T, Dh]
  return attendSplit(mha, q, k, v, bias);
}

/** What an encoder block returns. */
export type EncoderBlockOutput = {
  /** `[B, S, D]` */
  output: tf.Tensor3D;
  /** `[B, H, S, S]` the self-attention weights of every head. */
  weights: tf.Tensor4D;
};

/** One encoder layer: self-attention and a feed-forward block, each with a residual and a layer norm. */
export class EncoderBlock extends Module {
  readonly config: ResolvedBlockConfig;
  readonly selfAttn: MultiHeadAttention;
  readonly norm1: LayerNorm;
  readonly dropout1: Dropout;
  readonly ffn: FeedForward;
  readonly norm2: LayerNorm;
  readonly dropout2: Dropout;

  constructor(config: TransformerBlockConfig) {
    super();
    const c = resolveBlockConfig(config, 'EncoderBlock');
    this.config = c;
    const seed = (part: string): number => deriveSeed(c.seed, part);
    const { dModel, numHeads, eps, dropout } = c;
    this.selfAttn = new MultiHeadAttention({ dModel, numHeads, seed: seed('selfAttn') });
    this.norm1 = new LayerNorm({ dModel, eps });
    this.dropout1 = new Dropout({ rate: dropout, seed: seed('dropout1') });
    this.ffn = new FeedForward({
      dModel,
      dHidden: c.dHidden,
      activation: c.activation,
      dropout,
      seed: seed('ffn'),
    });
    this.norm2 = new LayerNorm({ dModel, eps });
    this.dropout2 = new Dropout({ rate: dropout, seed: seed('dropout2') });
  }

  /**
   * The block on a padded batch.
   * @param x `[B, S, D]` float32
   * @param opts which keys each position may attend to; an encoder gives `{ validLens: srcLens }`
   * @returns output `[B, S, D]` and the self-attention weights `[B, H, S, S]`
   */
  apply(x: tf.Tensor, opts: AttentionMaskOptions = {}): EncoderBlockOutput {
    const { dModel: D, numHeads: H } = this.config;
    return op(
      'EncoderBlock.apply',
      () =>
        checkAttentionInputs({ query: x, key: x, value: x }, opts, {
          queryDim: D,
          keyDim: D,
          valueDim: D,
          numHeads: H,
        }),
      () => {
        const len = dimOf(x, 1);
        return this.forwardBiased(x, attentionBias(opts, [dimOf(x, 0), H, len, len]));
      },
    ) as unknown as EncoderBlockOutput;
  }

  /** `apply` with the mask already turned into a bias by `attentionBias` (no checks; plumbing). */
  forwardBiased(x: tf.Tensor, bias: tf.Tensor | undefined): EncoderBlockOutput {
    return inside(() => {
      if (this.config.norm === 'post') {
        // 1) x = LN1(x + Drop(SelfAttn(x)))
        const sa = attendSelf(this.selfAttn, x, bias);
        const h = this.norm1.apply(tf.add(x, this.dropout1.apply(sa.output)));
        // 2) x = LN2(x + Drop(FFN(x)))
        const out = this.norm2.apply(tf.add(h, this.dropout2.apply(this.ffn.apply(h))));
        return { output: out as tf.Tensor3D, weights: sa.weights };
      }
      // 1) x = x + Drop(SelfAttn(LN1(x)))
      const n1 = this.norm1.apply(x);
      const sa = attendSelf(this.selfAttn, n1, bias);
      const h = tf.add(x, this.dropout1.apply(sa.output));
      // 2) x = x + Drop(FFN(LN2(x)))
      const out = tf.add(h, this.dropout2.apply(this.ffn.apply(this.norm2.apply(h))));
      return { output: out as tf.Tensor3D, weights: sa.weights };
    }) as unknown as EncoderBlockOutput;
  }
}

/** What a decoder block returns. */
export type DecoderBlockOutput = {
  /** `[B, T, D]` */
  output: tf.Tensor3D;
  /** `[B, H, T, T]` the masked self-attention weights (`[B, H, T, t]` in a cached step). */
  selfWeights: tf.Tensor4D;
  /** `[B, H, T, S]` the cross-attention weights over the source. */
  crossWeights: tf.Tensor4D;
};

/** Mask options of a decoder block: one set for its self-attention, one for its cross-attention. */
export interface DecoderMaskOptions {
  /** Self-attention over the target: usually `{ causal: true, validLens: tgtLens }`. */
  self?: AttentionMaskOptions;
  /** Cross-attention over the source (the memory): usually `{ validLens: srcLens }`. */
  memory?: AttentionMaskOptions;
}

/**
 * The key/value cache of one decoder layer during step-wise decoding. Every tensor has the batch
 * on axis 0 (beam search can reorder it).
 */
export type DecoderLayerCache = {
  /** `[B, H, t, Dh]` the self-attention keys of the `t` target positions read so far. */
  selfK: tf.Tensor4D;
  /** `[B, H, t, Dh]` their values. */
  selfV: tf.Tensor4D;
  /** `[B, H, S, Dh]` the cross-attention keys of the source, computed once. */
  crossK: tf.Tensor4D;
  /** `[B, H, S, Dh]` their values. */
  crossV: tf.Tensor4D;
};

/** What `DecoderBlock.step` returns: the block's output for the new positions and the grown cache. */
export type DecoderBlockStep = DecoderBlockOutput & {
  cache: DecoderLayerCache;
};

/**
 * One decoder layer: masked self-attention over the target, cross-attention over the encoder's
 * output (the memory), and a feed-forward block, each with a residual and a layer norm.
 */
export class DecoderBlock extends Module {
  readonly config: ResolvedBlockConfig;
  readonly selfAttn: MultiHeadAttention;
  readonly norm1: LayerNorm;
  readonly dropout1: Dropout;
  readonly crossAttn: MultiHeadAttention;
  readonly norm2: LayerNorm;
  readonly dropout2: Dropout;
  readonly ffn: FeedForward;
  readonly norm3: LayerNorm;
  readonly dropout3: Dropout;

  constructor(config: TransformerBlockConfig) {
    super();
    const c = resolveBlockConfig(config, 'DecoderBlock');
    this.config = c;
    const seed = (part: string): number => deriveSeed(c.seed, part);
    const { dModel, numHeads, eps, dropout } = c;
    this.selfAttn = new MultiHeadAttention({ dModel, numHeads, seed: seed('selfAttn') });
    this.norm1 = new LayerNorm({ dModel, eps });
    this.dropout1 = new Dropout({ rate: dropout, seed: seed('dropout1') });
    this.crossAttn = new MultiHeadAttention({ dModel, numHeads, seed: seed('crossAttn') });
    this.norm2 = new LayerNorm({ dModel, eps });
    this.dropout2 = new Dropout({ rate: dropout, seed: seed('dropout2') });
    this.ffn = new FeedForward({
      dModel,
      dHidden: c.dHidden,
      activation: c.activation,
      dropout,
      seed: seed('ffn'),
    });
    this.norm3 = new LayerNorm({ dModel, eps });
    this.dropout3 = new Dropout({ rate: dropout, seed: seed('dropout3') });
  }

  /**
   * The block on a whole (teacher-forced) target at once.
   * @param x `[B, T, D]` float32, the target positions
   * @param memory `[B, S, D]` float32, the encoder's output
   * @param opts `self`: usually `{ causal: true, validLens: tgtLens }`; `memory`: `{ validLens: srcLens }`
   * @returns output `[B, T, D]`, self-attention weights `[B, H, T, T]`, cross-attention weights `[B, H, T, S]`
   */
  apply(x: tf.Tensor, memory: tf.Tensor, opts: DecoderMaskOptions = {}): DecoderBlockOutput {
    const { dModel: D, numHeads: H } = this.config;
    const widths = { queryDim: D, keyDim: D, valueDim: D, numHeads: H };
    return op(
      'DecoderBlock.apply',
      () => {
        checkMaskGroups(opts);
        checkAttentionInputs({ query: x, key: x, value: x }, opts.self, widths);
        checkAttentionInputs({ query: x, key: memory, value: memory }, opts.memory, widths);
      },
      () => {
        const [batch, len] = [dimOf(x, 0), dimOf(x, 1)];
        const selfBias = attentionBias(opts.self ?? {}, [batch, H, len, len]);
        const memBias = attentionBias(opts.memory ?? {}, [batch, H, len, dimOf(memory, 1)]);
        return this.forwardBiased(x, selfBias, memBias, this.crossKeysValues(memory));
      },
    ) as unknown as DecoderBlockOutput;
  }

  /**
   * An empty cache for step-wise decoding: no target positions yet, and the cross-attention keys
   * and values of `memory`, computed once per source.
   * @param memory `[B, S, D]`
   */
  startCache(memory: tf.Tensor): DecoderLayerCache {
    const { dModel: D, numHeads: H } = this.config;
    return op(
      'DecoderBlock.startCache',
      () => checkShape(memory, ['B', 'S', D], 'memory'),
      () => {
        const batch = dimOf(memory, 0);
        const { k, v } = this.crossAttn.projectKeysValues(memory); // [B, S, D] -> [B, H, S, Dh] each
        const empty = tf.zeros([batch, H, 0, D / H]) as tf.Tensor4D; // [B, H, 0, Dh]
        return { selfK: empty, selfV: empty.clone(), crossK: k, crossV: v };
      },
    ) as unknown as DecoderLayerCache;
  }

  /** The cross-attention keys and values of `memory`: `[B, S, D]` -> `[B, H, S, Dh]` each (no checks; plumbing). */
  crossKeysValues(memory: tf.Tensor): { k: tf.Tensor4D; v: tf.Tensor4D } {
    return tf.tidy(() => this.crossAttn.projectKeysValues(memory));
  }

  /**
   * Reads the next target position(s) with cached keys and values: only the new positions'
   * queries, keys and values are computed; the new positions see every cached one and, among
   * themselves, only earlier ones. Equal to `apply` on the whole prefix, row for row.
   * @param x `[B, T, D]` the new positions (usually `T = 1`)
   * @param cache from `startCache` or the previous `step`
   * @param memoryOpts mask of the cross-attention, `{ validLens: srcLens }`
   * @returns the new positions' output `[B, T, D]`, weights `[B, H, T, t + T]` and `[B, H, T, S]`,
   *   and the cache grown by `T` positions
   */
  step(
    x: tf.Tensor,
    cache: DecoderLayerCache,
    memoryOpts: AttentionMaskOptions = {},
  ): DecoderBlockStep {
    const { dModel: D, numHeads: H } = this.config;
    return op(
      'DecoderBlock.step',
      () => {
        const dims = checkShape(x, ['B', 'T', D], 'x');
        checkCache(cache, dims.B.size, H, D / H);
        checkFinite(x as tf.Tensor, 'x');
        const srcLen = dimOf((cache as DecoderLayerCache).crossK, 2);
        checkMaskOptions(memoryOpts, [dims.B.size, H, dims.T.size, srcLen]);
      },
      () => this.stepUnchecked(x, cache, memoryOpts),
    ) as unknown as DecoderBlockStep;
  }

  /** `step` without checks (plumbing for `TransformerSeq2Seq`). */
  stepUnchecked(
    x: tf.Tensor,
    cache: DecoderLayerCache,
    memoryOpts: AttentionMaskOptions,
  ): DecoderBlockStep {
    return inside(() => {
      const { numHeads: H } = this.config;
      const [batch, len] = [dimOf(x, 0), dimOf(x, 1)];
      const past = dimOf(cache.selfK, 2);
      // the new positions' keys and values join the cache: [B, H, t, Dh] ; [B, H, T, Dh]
      const input = this.config.norm === 'pre' ? this.norm1.apply(x) : x;
      const fresh = this.selfAttn.projectKeysValues(input);
      const selfK = tf.concat([cache.selfK, fresh.k], 2) as tf.Tensor4D; // -> [B, H, t + T, Dh]
      const selfV = tf.concat([cache.selfV, fresh.v], 2) as tf.Tensor4D;
      const selfBias =
        len === 1 ? undefined : attentionBias({ causal: true }, [batch, H, len, past + len]);
      const memBias = attentionBias(memoryOpts, [batch, H, len, dimOf(cache.crossK, 2)]);
      const cross = { k: cache.crossK, v: cache.crossV };
      const out = this.forwardBiased(x, selfBias, memBias, cross, { k: selfK, v: selfV });
      return { ...out, cache: { selfK, selfV, crossK: cache.crossK, crossV: cache.crossV } };
    }) as unknown as DecoderBlockStep;
  }

  /**
   * The three sub-layers (no checks). `selfKV`, when given, holds the self-attention keys and
   * values of every visible position (the cache plus `x`'s own); otherwise they come from `x`.
   */
  forwardBiased(
    x: tf.Tensor,
    selfBias: tf.Tensor | undefined,
    memBias: tf.Tensor | undefined,
    cross: { k: tf.Tensor; v: tf.Tensor },
    selfKV?: { k: tf.Tensor; v: tf.Tensor },
  ): DecoderBlockOutput {
    return inside(() => {
      const selfAttend = (q: tf.Tensor) =>
        selfKV
          ? attendHeads(this.selfAttn, q, selfKV.k, selfKV.v, selfBias)
          : attendSelf(this.selfAttn, q, selfBias);
      const crossAttend = (q: tf.Tensor) =>
        attendHeads(this.crossAttn, q, cross.k, cross.v, memBias);
      if (this.config.norm === 'post') {
        // 1) x = LN1(x + Drop(SelfAttn(x, causal)))
        const sa = selfAttend(x);
        const h1 = this.norm1.apply(tf.add(x, this.dropout1.apply(sa.output)));
        // 2) x = LN2(x + Drop(CrossAttn(x, memory)))
        const ca = crossAttend(h1);
        const h2 = this.norm2.apply(tf.add(h1, this.dropout2.apply(ca.output)));
        // 3) x = LN3(x + Drop(FFN(x)))
        const out = this.norm3.apply(tf.add(h2, this.dropout3.apply(this.ffn.apply(h2))));
        return {
          output: out as tf.Tensor3D,
          selfWeights: sa.weights,
          crossWeights: ca.weights,
        };
      }
      // 1) x = x + Drop(SelfAttn(LN1(x), causal))
      const sa = selfAttend(this.norm1.apply(x));
      const h1 = tf.add(x, this.dropout1.apply(sa.output));
      // 2) x = x + Drop(CrossAttn(LN2(x), memory))
      const ca = crossAttend(this.norm2.apply(h1));
      const h2 = tf.add(h1, this.dropout2.apply(ca.output));
      // 3) x = x + Drop(FFN(LN3(x)))
      const out = tf.add(h2, this.dropout3.apply(this.ffn.apply(this.norm3.apply(h2))));
      return { output: out as tf.Tensor3D, selfWeights: sa.weights, crossWeights: ca.weights };
    }) as unknown as DecoderBlockOutput;
  }
}

/**
 * Runs a block's math in `tf.tidy` with the NaN checks of the layers it calls turned off: the
 * block checked its own inputs, and `LayerNorm`/`FeedForward` would otherwise read every
 * intermediate value back to the host.
 */
function inside<T>(fn: () => T): T {
  return withInputsChecked(() => tf.tidy(fn as () => tf.TensorContainer)) as T;
}

function checkMaskGroups(opts: unknown): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`opts: expected an object { self?, memory? }, got ${String(opts)}`);
  }
}

function checkCache(cache: unknown, batch: number, heads: number, headDim: number): void {
  if (cache === null || typeof cache !== 'object') {
    throw new TypeError(`cache: expected { selfK, selfV, crossK, crossV }, got ${String(cache)}`);
  }
  const c = cache as Partial<DecoderLayerCache>;
  const dims = checkShape(c.selfK, [batch, heads, 't', headDim], 'cache.selfK', {
    allowEmpty: true,
  });
  checkShape(c.selfV, [batch, heads, 't', headDim], 'cache.selfV', { dims, allowEmpty: true });
  checkShape(c.crossK, [batch, heads, 'S', headDim], 'cache.crossK', { dims });
  checkShape(c.crossV, [batch, heads, 'S', headDim], 'cache.crossV', { dims });
}
