/**
 * The Transformer encoder-decoder (Vaswani et al., 2017, "Attention Is All You Need"), small:
 *
 * ```text
 * encoder:  e = Drop(E_src[src] * sqrt(D) + PE[:S])           [B, S, D]
 *           e = EncoderBlock_n(e, srcLens)  for n = 1..N       (+ a final LayerNorm in pre-norm)
 * decoder:  y = Drop(E_tgt[tgtIn] * sqrt(D) + PE[:T])          [B, T, D]
 *           y = DecoderBlock_n(y, e, causal + tgtLens, srcLens) (+ a final LayerNorm in pre-norm)
 * logits  = y E_tgt^T  (tied)   or   y W_out + b_out            [B, T, V]
 * ```
 *
 * The blocks are in `transformer-blocks.ts`. Decoding is step-wise (`StepDecoder`), so
 * `greedyDecode`, `translate` and beam search drive it like the RNN decoders: the state holds each
 * decoder layer's key/value cache, and a step computes only the new position (see
 * `DecoderBlock.step`). `recomputingDecoder(model)` decodes the same tokens without a cache, by
 * running the whole decoder on the prefix at every step, to check and time the cache against.
 *
 * Deviations from the paper (the chapter's "paper vs this notebook" box): characters, not
 * subwords; tiny widths; only the target embedding and the output projection can be tied (the
 * source vocabulary differs); pre-norm by default; embeddings start with standard deviation
 * `D^-0.5`, so that the scaled embeddings `E * sqrt(D)` start with unit variance.
 */
import * as tf from '@tensorflow/tfjs';
import { sinusoidalEncoding } from '../attention/positional';
import { Dropout } from '../core/dropout';
import type { FeedForwardActivation } from '../core/feed-forward';
import { LayerNorm } from '../core/layer-norm';
import { Linear } from '../core/linear';
import { Module } from '../core/module';
import { op } from '../core/op';
import { deriveSeed } from '../core/random';
import { Embedding } from '../core/embedding';
import { checkInt, checkShape, dimOf, withInputsChecked } from '../core/shapes';
import type { Seq2SeqBatch } from '../data/batches';
import { greedyDecode } from '../decode/greedy';
import type { DecoderStep, StepDecoder } from '../decode/step-decoder';
import { maskedCrossEntropy } from '../train/losses';
import {
  checkConfigObject,
  checkIds,
  checkLens,
  checkSeq2SeqBatch,
  checkSource,
} from './seq2seq-parts';
import {
  DecoderBlock,
  EncoderBlock,
  attentionBias,
  type DecoderLayerCache,
  type NormPlacement,
} from './transformer-blocks';

/** Configuration of a `TransformerSeq2Seq`; every optional field has the default it names. */
export interface TransformerConfig {
  /** Source vocabulary size. */
  srcVocab: number;
  /** Target vocabulary size `V`. */
  tgtVocab: number;
  /** Model width `D`. Defaults to `64`. */
  dModel?: number;
  /** Heads `H`; must divide `dModel`. Defaults to `4`. */
  numHeads?: number;
  /** Encoder blocks `N`. Defaults to `2`. */
  encoderLayers?: number;
  /** Decoder blocks. Defaults to `encoderLayers`. */
  decoderLayers?: number;
  /** Feed-forward hidden width `Dff`. Defaults to `4 * dModel`. */
  dHidden?: number;
  /** Dropout on the embeddings, the residual branches and inside the feed-forward blocks. Defaults to `0`. */
  dropout?: number;
  /**
   * Layer norm placement. Defaults to `'pre'`: the normalised sub-layer inputs keep the residual
   * stream an identity path from the embeddings to the output, so gradients reach the lower
   * layers without passing through a norm per block, and training needs little or no warm-up;
   * `'post'` is the paper's.
   */
  norm?: NormPlacement;
  /** Feed-forward activation. Defaults to `'relu'`. */
  activation?: FeedForwardActivation;
  /**
   * Share the target embedding with the output projection, `logits = y E_tgt^T` (the paper
   * does). Defaults to `true`.
   */
  tieOutput?: boolean;
  /** Longest source or target `L` (rows of the positional table). Defaults to `64`. */
  maxLen?: number;
  /** Label smoothing of `loss` (the paper uses 0.1). Defaults to `0`. */
  labelSmoothing?: number;
  /** Beginning-of-sequence token, fed at the first decoding step. */
  bos?: number;
  /** End-of-sequence token. */
  eos?: number;
  /** Seed of every initial weight and dropout mask. Defaults to `0`. */
  seed?: number;
}

/** A `TransformerConfig` with its defaults filled in. */
export type ResolvedTransformerConfig = Required<Omit<TransformerConfig, 'bos' | 'eos'>> & {
  bos: number | undefined;
  eos: number | undefined;
};

function resolveConfig(config: TransformerConfig): ResolvedTransformerConfig {
  checkConfigObject(
    config,
    'TransformerSeq2Seq',
    '{ srcVocab, tgtVocab, dModel?, numHeads?, encoderLayers?, decoderLayers?, dHidden?, dropout?, norm?, activation?, tieOutput?, maxLen?, labelSmoothing?, bos?, eos?, seed? }',
  );
  const tgtVocab = checkInt(config.tgtVocab, 'tgtVocab');
  const token = (v: number | undefined, name: string): number | undefined =>
    v === undefined ? undefined : checkInt(v, name, 0, tgtVocab - 1);
  const dModel = checkInt(config.dModel ?? 64, 'dModel', 2);
  if (dModel % 2 !== 0) throw new RangeError(`dModel: expected an even width, got ${dModel}`);
  const encoderLayers = checkInt(config.encoderLayers ?? 2, 'encoderLayers');
  const tie = config.tieOutput ?? true;
  if (typeof tie !== 'boolean') {
    throw new TypeError(`tieOutput: expected true or false, got ${String(tie)}`);
  }
  const smoothing = config.labelSmoothing ?? 0;
  if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing <= 1)) {
    throw new RangeError(`labelSmoothing: expected a number in [0, 1], got ${String(smoothing)}`);
  }
  return {
    srcVocab: checkInt(config.srcVocab, 'srcVocab'),
    tgtVocab,
    dModel,
    numHeads: checkInt(config.numHeads ?? 4, 'numHeads'),
    encoderLayers,
    decoderLayers: checkInt(config.decoderLayers ?? encoderLayers, 'decoderLayers'),
    dHidden: checkInt(config.dHidden ?? 4 * dModel, 'dHidden'),
    dropout: config.dropout ?? 0, // checked by the blocks
    norm: config.norm ?? 'pre', // checked by the blocks
    activation: config.activation ?? 'relu',
    tieOutput: tie,
    maxLen: checkInt(config.maxLen ?? 64, 'maxLen'),
    labelSmoothing: smoothing,
    bos: token(config.bos, 'bos'),
    eos: token(config.eos, 'eos'),
    seed: checkInt(config.seed ?? 0, 'seed', 0),
  };
}

/** The teacher-forced pass: logits and every attention weight, per layer and head. */
export interface TransformerOutput {
  /** `[B, T, V]` */
  logits: tf.Tensor3D;
  /** Per encoder layer, `[B, H, S, S]`: encoder self-attention. */
  encoderSelf: tf.Tensor4D[];
  /** Per decoder layer, `[B, H, T, T]`: masked decoder self-attention. */
  decoderSelf: tf.Tensor4D[];
  /** Per decoder layer, `[B, H, T, S]`: cross-attention over the source. */
  cross: tf.Tensor4D[];
  /** `[B, T, S]`: the last layer's cross-attention averaged over heads (an alignment to plot). */
  weights: tf.Tensor3D;
}

/** The decoding state of `TransformerSeq2Seq`: the source lengths and each layer's K/V cache. */
export interface TransformerState {
  /** `[B]` int32 the source lengths (keys at or past them are padding). */
  srcLens: tf.Tensor1D;
  /** Per decoder layer, the key/value cache (`DecoderLayerCache`). */
  layers: DecoderLayerCache[];
  /** Target positions read so far (the position of the next token). */
  pos: number;
}

/** The decoding state of `recomputingDecoder`: the encoder output and the prefix read so far. */
export interface RecomputeState {
  /** `[B, S, D]` */
  memory: tf.Tensor3D;
  /** `[B]` int32 */
  srcLens: tf.Tensor1D;
  /** `[B, t]` int32, the tokens read so far (`t = 0` before the first step). */
  prefix: tf.Tensor2D;
}

/**
 * The Transformer encoder-decoder (see the module comment). Trains with `fit()` through
 * `loss(batch)`, decodes with `greedyDecode(model, src, ...)` using its key/value cache.
 *
 * ```ts
 * const model = new ah.TransformerSeq2Seq({ srcVocab: 40, tgtVocab: 14, bos: 1, eos: 2 });
 * const out = model.forward(src, srcLens, tgtIn); // logits, encoderSelf, decoderSelf, cross
 * const ids = ah.greedyDecode(model, src, { maxLen: 11, srcValidLens: srcLens });
 * ```
 */
export class TransformerSeq2Seq extends Module implements StepDecoder<TransformerState> {
  readonly config: ResolvedTransformerConfig;
  readonly srcEmbed: Embedding;
  readonly tgtEmbed: Embedding;
  readonly embedDropout: Dropout;
  readonly encoderBlocks: EncoderBlock[];
  /** The final norm of a pre-norm encoder stack (`null` in post-norm). */
  readonly encoderNorm: LayerNorm | null;
  readonly decoderBlocks: DecoderBlock[];
  /** The final norm of a pre-norm decoder stack (`null` in post-norm). */
  readonly decoderNorm: LayerNorm | null;
  /** `W_out` `[D, V]`, or `null` when tied to `tgtEmbed`. */
  readonly out: Linear | null;
  /** The sinusoidal table `PE` `[L, D]` (a constant, not a weight). */
  readonly positions: tf.Tensor2D;

  constructor(config: TransformerConfig) {
    super();
    const c = resolveConfig(config);
    this.config = c;
    const seed = (part: string): number => deriveSeed(c.seed, part);
    const initStd = 1 / Math.sqrt(c.dModel);
    const D = c.dModel;
    this.srcEmbed = new Embedding({ vocabSize: c.srcVocab, dModel: D, initStd, seed: seed('src') });
    this.tgtEmbed = new Embedding({ vocabSize: c.tgtVocab, dModel: D, initStd, seed: seed('tgt') });
    this.embedDropout = new Dropout({ rate: c.dropout, seed: seed('embedDropout') });
    const block = (n: number, part: string) => ({
      dModel: D,
      numHeads: c.numHeads,
      dHidden: c.dHidden,
      dropout: c.dropout,
      norm: c.norm,
      activation: c.activation,
      seed: seed(`${part}.${n}`),
    });
    this.encoderBlocks = Array.from(
      { length: c.encoderLayers },
      (_, n) => new EncoderBlock(block(n, 'encoder')),
    );
    this.decoderBlocks = Array.from(
      { length: c.decoderLayers },
      (_, n) => new DecoderBlock(block(n, 'decoder')),
    );
    this.encoderNorm = c.norm === 'pre' ? new LayerNorm({ dModel: D }) : null;
    this.decoderNorm = c.norm === 'pre' ? new LayerNorm({ dModel: D }) : null;
    this.out = c.tieOutput
      ? null
      : new Linear({ inFeatures: D, outFeatures: c.tgtVocab, seed: seed('out') });
    this.positions = sinusoidalEncoding(c.maxLen, D);
  }

  get bos(): number | undefined {
    return this.config.bos;
  }

  get eos(): number | undefined {
    return this.config.eos;
  }

  /** Frees the weights and the positional table. */
  override dispose(): void {
    super.dispose();
    if (!this.positions.isDisposed) this.positions.dispose();
  }

  /**
   * Runs the encoder.
   * @param src `[B, S]` int32, `S <= maxLen`
   * @param srcLens `[B]` int32 in `[1, S]`; defaults to `S`
   * @returns the memory `[B, S, D]` and each layer's self-attention weights `[B, H, S, S]`
   */
  encode(src: tf.Tensor2D, srcLens?: tf.Tensor1D): { memory: tf.Tensor3D; weights: tf.Tensor4D[] } {
    return op(
      'TransformerSeq2Seq.encode',
      () => this.checkSrc(src, srcLens),
      () => withInputsChecked(() => this.encodeUnchecked(src, srcLens)),
    ) as unknown as { memory: tf.Tensor3D; weights: tf.Tensor4D[] };
  }

  /**
   * The teacher-forced pass: decoder inputs `tgtIn` (the targets shifted right) at every step.
   * @param src `[B, S]` int32, `srcLens` `[B]`, `tgtIn` `[B, T]` int32
   * @param tgtLens `[B]` int32: target positions at or past it are padding (hidden as keys of
   *   the decoder's self-attention); defaults to `T`
   * @returns logits `[B, T, V]` and every attention weight per layer and head
   */
  forward(
    src: tf.Tensor2D,
    srcLens: tf.Tensor1D,
    tgtIn: tf.Tensor2D,
    tgtLens?: tf.Tensor1D,
  ): TransformerOutput {
    return op(
      'TransformerSeq2Seq.forward',
      () => {
        this.checkSrc(src, srcLens);
        this.checkTgt(tgtIn, tgtLens, src.shape[0]);
      },
      () =>
        withInputsChecked(() => {
          const enc = this.encodeUnchecked(src, srcLens);
          const dec = this.decodeUnchecked(tgtIn, enc.memory, srcLens, tgtLens);
          const last = dec.cross[dec.cross.length - 1]!;
          return { ...dec, encoderSelf: enc.weights, weights: tf.mean(last, 1) }; // [B, H, T, S] -> [B, T, S]
        }),
    ) as unknown as TransformerOutput;
  }

  /** Teacher-forced logits `[B, T, V]` of a batch (see `forward`). */
  logits(batch: Seq2SeqBatch): tf.Tensor3D {
    return op(
      'TransformerSeq2Seq.logits',
      () => checkSeq2SeqBatch(batch, this.config.srcVocab, this.config.tgtVocab),
      () =>
        withInputsChecked(() => {
          const enc = this.encodeUnchecked(batch.src, batch.srcLens);
          return this.decodeUnchecked(batch.tgtIn, enc.memory, batch.srcLens, batch.tgtLens).logits;
        }),
    );
  }

  /** Mean cross-entropy over the real target tokens, with the configured label smoothing, for `fit()`. */
  loss(batch: Seq2SeqBatch): tf.Scalar {
    return op(
      'TransformerSeq2Seq.loss',
      () => checkSeq2SeqBatch(batch, this.config.srcVocab, this.config.tgtVocab),
      () =>
        maskedCrossEntropy(this.logits(batch), batch.tgtOut, {
          validLens: batch.tgtLens,
          labelSmoothing: this.config.labelSmoothing,
        }),
    );
  }

  /**
   * Encodes the source and returns the decoding state (`StepDecoder.start`): every decoder
   * layer's cross-attention keys and values, computed once, and empty self-attention caches.
   * @param src `[B, S]` int32
   * @param srcValidLens `[B]` int32 in `[1, S]`; defaults to `S`
   */
  start(src: tf.Tensor2D, srcValidLens?: tf.Tensor1D): TransformerState {
    return op(
      'TransformerSeq2Seq.start',
      () => this.checkSrc(src, srcValidLens),
      () =>
        withInputsChecked(() => {
          const srcLens = srcValidLens ?? fullLengths(src);
          const { memory } = this.encodeUnchecked(src, srcLens);
          const layers = this.decoderBlocks.map((b) => b.startCache(memory));
          return { srcLens, layers, pos: 0 } as unknown as tf.TensorContainer;
        }),
    ) as unknown as TransformerState;
  }

  /**
   * One decoding step with the key/value cache (`StepDecoder.step`): embeds `prev` at position
   * `pos`, runs it through every decoder layer against the cached positions, and scores.
   * @param prev `[B]` int32 the previous token
   * @returns logits `[B, V]`, the state with every cache one position longer, and the last
   *   layer's cross-attention weights averaged over heads `[B, S]`
   */
  step(prev: tf.Tensor1D, state: TransformerState): DecoderStep<TransformerState> {
    return op(
      'TransformerSeq2Seq.step',
      () => this.checkState(prev, state),
      () =>
        withInputsChecked(() => {
          const memOpts = { validLens: state.srcLens };
          let y = this.embedTarget(prev.expandDims(1) as tf.Tensor2D, state.pos); // [B] -> [B, 1] -> [B, 1, D]
          const layers: DecoderLayerCache[] = [];
          let cross: tf.Tensor4D | undefined;
          for (let n = 0; n < this.decoderBlocks.length; n++) {
            const r = this.decoderBlocks[n]!.stepUnchecked(y, state.layers[n]!, memOpts);
            y = r.output;
            layers.push(r.cache);
            cross = r.crossWeights;
          }
          const logits = this.project(y).squeeze([1]) as tf.Tensor2D; // [B, 1, V] -> [B, V]
          const weights = tf.mean(cross!, 1).squeeze([1]) as tf.Tensor2D; // [B, H, 1, S] -> [B, S]
          const next = { srcLens: state.srcLens, layers, pos: state.pos + 1 };
          return { logits, state: next, weights } as unknown as tf.TensorContainer;
        }),
    ) as unknown as DecoderStep<TransformerState>;
  }

  /** Source embeddings and the encoder stack (no checks). */
  encodeUnchecked(
    src: tf.Tensor2D,
    srcLens?: tf.Tensor1D,
  ): { memory: tf.Tensor3D; weights: tf.Tensor4D[] } {
    const [batch, len] = src.shape;
    let x = this.embed(this.srcEmbed.weight, src, 0); // [B, S, D]
    const bias = attentionBias(srcLens ? { validLens: srcLens } : {}, [
      batch,
      this.config.numHeads,
      len,
      len,
    ]);
    const weights: tf.Tensor4D[] = [];
    for (const block of this.encoderBlocks) {
      const r = block.forwardBiased(x, bias);
      x = r.output;
      weights.push(r.weights);
    }
    const memory = (this.encoderNorm ? this.encoderNorm.apply(x) : x) as tf.Tensor3D;
    return { memory, weights };
  }

  /** Target embeddings, the decoder stack and the output projection (no checks). */
  decodeUnchecked(
    tgtIn: tf.Tensor2D,
    memory: tf.Tensor3D,
    srcLens?: tf.Tensor1D,
    tgtLens?: tf.Tensor1D,
  ): { logits: tf.Tensor3D; decoderSelf: tf.Tensor4D[]; cross: tf.Tensor4D[] } {
    const [batch, len] = tgtIn.shape;
    const H = this.config.numHeads;
    let y = this.embedTarget(tgtIn, 0); // [B, T, D]
    const selfOpts = tgtLens ? { causal: true, validLens: tgtLens } : { causal: true };
    const selfBias = attentionBias(selfOpts, [batch, H, len, len]);
    const memOpts = srcLens ? { validLens: srcLens } : {};
    const memBias = attentionBias(memOpts, [batch, H, len, dimOf(memory, 1)]);
    const decoderSelf: tf.Tensor4D[] = [];
    const cross: tf.Tensor4D[] = [];
    for (const block of this.decoderBlocks) {
      const r = block.forwardBiased(y, selfBias, memBias, block.crossKeysValues(memory));
      y = r.output;
      decoderSelf.push(r.selfWeights);
      cross.push(r.crossWeights);
    }
    return { logits: this.project(y) as tf.Tensor3D, decoderSelf, cross };
  }

  /** `E[ids] * sqrt(D) + PE[pos0 : pos0 + T]`, then dropout: `[B, T]` -> `[B, T, D]`. */
  private embed(table: tf.Tensor, ids: tf.Tensor2D, pos0: number): tf.Tensor3D {
    const [batch, len] = ids.shape;
    const D = this.config.dModel;
    const rows = tf.gather(table, ids.reshape([-1])); // [V, D] at [B*T] -> [B*T, D]
    const scaled = tf.mul(rows.reshape([batch, len, D]), Math.sqrt(D)); // -> [B, T, D]
    const pe = this.positions.slice([pos0, 0], [len, D]); // [L, D] -> [T, D]
    return this.embedDropout.apply(tf.add(scaled, pe)) as tf.Tensor3D; // [B, T, D] + [T, D]
  }

  private embedTarget(ids: tf.Tensor2D, pos0: number): tf.Tensor3D {
    return this.embed(this.tgtEmbed.weight, ids, pos0);
  }

  /** The final norm (pre-norm) and the output projection: `[B, T, D]` -> `[B, T, V]`. */
  private project(y: tf.Tensor): tf.Tensor {
    const h = this.decoderNorm ? this.decoderNorm.apply(y) : y;
    if (this.out) return this.out.apply(h);
    const [batch, len, D] = h.shape;
    const flat = h.reshape([-1, D!]); // [B, T, D] -> [B*T, D]
    const logits = tf.matMul(flat, this.tgtEmbed.weight, false, true); // [B*T, D] x [V, D]^T -> [B*T, V]
    return logits.reshape([batch!, len!, this.config.tgtVocab]); // -> [B, T, V]
  }

  private checkSrc(src: unknown, srcLens: unknown): void {
    checkSource(src, srcLens, this.config.srcVocab);
    const len = (src as tf.Tensor).shape[1]!;
    if (len > this.config.maxLen) {
      throw new RangeError(
        `src: expected at most maxLen = ${this.config.maxLen} positions, got S = ${len}`,
      );
    }
  }

  private checkTgt(tgtIn: unknown, tgtLens: unknown, batch: number): void {
    checkIds(tgtIn, 'tgtIn', this.config.tgtVocab, [batch, 'T']);
    const len = (tgtIn as tf.Tensor).shape[1]!;
    if (len > this.config.maxLen) {
      throw new RangeError(
        `tgtIn: expected at most maxLen = ${this.config.maxLen} positions, got T = ${len}`,
      );
    }
    if (tgtLens !== undefined) checkLens(tgtLens, 'tgtLens', batch, len);
  }

  private checkState(prev: unknown, state: unknown): void {
    checkIds(prev, 'prev', this.config.tgtVocab, ['B']);
    if (typeof state !== 'object' || state === null) {
      throw new TypeError(`state: expected { srcLens, layers, pos }, got ${String(state)}`);
    }
    const st = state as Partial<TransformerState>;
    const batch = (prev as tf.Tensor).shape[0]!;
    checkShape(st.srcLens, [batch], 'state.srcLens');
    if (!Array.isArray(st.layers) || st.layers.length !== this.decoderBlocks.length) {
      throw new TypeError(
        `state.layers: expected ${this.decoderBlocks.length} layer caches, got ${String(st.layers)}`,
      );
    }
    const pos = checkInt(st.pos, 'state.pos', 0);
    if (pos >= this.config.maxLen) {
      throw new RangeError(
        `state.pos: the positional table has maxLen = ${this.config.maxLen} rows, got position ${pos}`,
      );
    }
    const { numHeads: H, dModel: D } = this.config;
    st.layers.forEach((c, n) => {
      checkShape(c.selfK, [batch, H, pos, D / H], `state.layers.${n}.selfK`, { allowEmpty: true });
      checkShape(c.selfV, [batch, H, pos, D / H], `state.layers.${n}.selfV`, { allowEmpty: true });
      checkShape(c.crossK, [batch, H, 'S', D / H], `state.layers.${n}.crossK`);
      checkShape(c.crossV, [batch, H, 'S', D / H], `state.layers.${n}.crossV`);
    });
  }
}

/** `[B]` int32 lengths all equal to `S`, for a source given without lengths. */
function fullLengths(src: tf.Tensor2D): tf.Tensor1D {
  return tf.fill([src.shape[0]], src.shape[1], 'int32') as tf.Tensor1D;
}

/**
 * The same model as a `StepDecoder` without a cache: each step runs the whole decoder on the
 * prefix read so far and keeps the last position's logits. It decodes the same tokens as the
 * model itself (the cached decoder), `t` times slower at step `t`; it exists to check and time
 * the key/value cache.
 */
export function recomputingDecoder(model: TransformerSeq2Seq): StepDecoder<RecomputeState> {
  if (!(model instanceof TransformerSeq2Seq)) {
    throw new TypeError(`model: expected a TransformerSeq2Seq, got ${String(model)}`);
  }
  return {
    bos: model.bos,
    eos: model.eos,
    start(src: tf.Tensor2D, srcValidLens?: tf.Tensor1D): RecomputeState {
      return tf.tidy(() => {
        const srcLens = srcValidLens ?? fullLengths(src);
        const { memory } = model.encode(src, srcLens);
        const prefix = tf.zeros([src.shape[0], 0], 'int32') as tf.Tensor2D;
        return { memory, srcLens, prefix } as unknown as tf.TensorContainer;
      }) as unknown as RecomputeState;
    },
    step(prev: tf.Tensor1D, state: RecomputeState): DecoderStep<RecomputeState> {
      return op(
        'recomputingDecoder.step',
        () => checkIds(prev, 'prev', model.config.tgtVocab, [state.memory.shape[0]]),
        () =>
          withInputsChecked(() => {
            const prefix = tf.concat([state.prefix, prev.expandDims(1)], 1) as tf.Tensor2D; // [B, t] ; [B, 1] -> [B, t + 1]
            const len = prefix.shape[1];
            const dec = model.decodeUnchecked(prefix, state.memory, state.srcLens);
            const logits = dec.logits.slice([0, len - 1, 0], [-1, 1, -1]).squeeze([1]); // [B, t + 1, V] -> [B, V]
            const last = dec.cross[dec.cross.length - 1]!; // [B, H, t + 1, S]
            const weights = tf
              .mean(last.slice([0, 0, len - 1, 0], [-1, -1, 1, -1]), 1)
              .squeeze([1]); // -> [B, S]
            return {
              logits,
              state: { memory: state.memory, srcLens: state.srcLens, prefix },
              weights,
            } as unknown as tf.TensorContainer;
          }),
      ) as unknown as DecoderStep<RecomputeState>;
    },
  };
}

/** What `decodingSpeed` measured: greedy decoding with the key/value cache and without. */
export interface DecodingSpeed {
  /** Tokens generated per run (every example's tokens, the end token included). */
  tokens: number;
  /** Generated tokens per second with the cache (the model's own `step`). */
  cachedTokensPerSec: number;
  /** Generated tokens per second recomputing the whole prefix at every step (`recomputingDecoder`). */
  recomputedTokensPerSec: number;
  /** `cachedTokensPerSec / recomputedTokensPerSec`. */
  speedup: number;
  /** Whether both decoded exactly the same tokens (they must). */
  sameTokens: boolean;
}

/**
 * Times greedy decoding of `src` with the key/value cache against full recomputation of the
 * prefix at every step (the best of `repeats` runs each, after one warm-up run), and checks that
 * both produce the same tokens.
 * @param src `[B, S]` int32
 * @param opts `maxLen` tokens at most per example, `srcValidLens` `[B]`, `repeats` (default 3)
 */
export function decodingSpeed(
  model: TransformerSeq2Seq,
  src: tf.Tensor2D,
  opts: { maxLen: number; srcValidLens?: tf.Tensor1D; repeats?: number },
): DecodingSpeed {
  if (!(model instanceof TransformerSeq2Seq)) {
    throw new TypeError(`model: expected a TransformerSeq2Seq, got ${String(model)}`);
  }
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`opts: expected { maxLen, srcValidLens?, repeats? }, got ${String(opts)}`);
  }
  const repeats = checkInt(opts.repeats ?? 3, 'repeats');
  const decodeOpts = { maxLen: opts.maxLen, srcValidLens: opts.srcValidLens };
  const time = (decoder: StepDecoder<unknown>) => {
    let best = Infinity;
    let tokens: number[][] = greedyDecode(decoder, src, decodeOpts).tokens; // warm-up
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      tokens = greedyDecode(decoder, src, decodeOpts).tokens;
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return { seconds: best, tokens };
  };
  const cached = time(model as StepDecoder<unknown>);
  const slow = time(recomputingDecoder(model) as StepDecoder<unknown>);
  const count = cached.tokens.reduce((n, row) => n + row.length, 0);
  const cachedRate = count / cached.seconds;
  const slowRate = count / slow.seconds;
  return {
    tokens: count,
    cachedTokensPerSec: cachedRate,
    recomputedTokensPerSec: slowRate,
    speedup: cachedRate / slowRate,
    sameTokens: JSON.stringify(cached.tokens) === JSON.stringify(slow.tokens),
  };
}
