/**
 * What the RNN encoder-decoders of chapters 03 and 04 (`BaselineSeq2Seq`, `BahdanauSeq2Seq`,
 * `LuongSeq2Seq`) share around their own equations: the special tokens, the checked `start`, and
 * the teacher-forced `logits` and `loss` that `fit()` calls. Each model writes only what differs:
 * how it encodes (`startState`), one decoding step (`step`) and the teacher-forced pass
 * (`forward`). Imported by path, not part of the learner's `ah.` namespace.
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from '../core/module';
import { op } from '../core/op';
import type { Seq2SeqBatch } from '../data/batches';
import type { DecoderStep, StepDecoder } from '../decode/step-decoder';
import { maskedCrossEntropy } from '../train/losses';
import { checkSeq2SeqBatch, checkSource, type ResolvedSeq2SeqConfig } from './seq2seq-parts';

/** A teacher-forced pass: every step's logits and attention weights. */
export interface Seq2SeqOutput {
  /** `[B, T, V]` */
  logits: tf.Tensor3D;
  /** `[B, T, S]` the attention weights `a_ij` (absent for the baseline). */
  weights?: tf.Tensor3D;
}

/**
 * The base of the RNN encoder-decoders: a `Module` (its subclasses' fields hold the weights) and a
 * `StepDecoder<State>`. Errors name the subclass, e.g. `BahdanauSeq2Seq.start: src: ...`.
 */
export abstract class Seq2SeqModule<State> extends Module implements StepDecoder<State> {
  /** The resolved sizes and special tokens (declared here, set by the subclass). */
  abstract readonly config: ResolvedSeq2SeqConfig;

  /** The beginning-of-sequence token, if the config names it. */
  get bos(): number | undefined {
    return this.config.bos;
  }

  /** The end-of-sequence token, if the config names it. */
  get eos(): number | undefined {
    return this.config.eos;
  }

  /**
   * Encodes the source and returns the decoder's initial state (`StepDecoder.start`).
   * @param src `[B, S]` int32
   * @param srcValidLens `[B]` int32 in `[1, S]`; defaults to `S`
   */
  start(src: tf.Tensor2D, srcValidLens?: tf.Tensor1D): State {
    return op(
      `${this.constructor.name}.start`,
      () => checkSource(src, srcValidLens, this.config.srcVocab),
      () => this.startState(src, srcValidLens) as unknown as tf.TensorContainer,
    ) as unknown as State;
  }

  /** Teacher-forced logits `[B, T, V]` of a batch (see `forward`). */
  logits(batch: Seq2SeqBatch): tf.Tensor3D {
    return op(
      `${this.constructor.name}.logits`,
      () => checkSeq2SeqBatch(batch, this.config.srcVocab, this.config.tgtVocab),
      () => this.forward(batch.src, batch.srcLens, batch.tgtIn).logits,
    );
  }

  /**
   * Mean cross-entropy over the real target tokens of a batch, for `fit()`:
   * `-(1 / N) sum_{b, t < tgtLens[b]} log p(tgtOut[b, t])`, with `N` the number of real tokens.
   */
  loss(batch: Seq2SeqBatch): tf.Scalar {
    return op(
      `${this.constructor.name}.loss`,
      () => checkSeq2SeqBatch(batch, this.config.srcVocab, this.config.tgtVocab),
      () => maskedCrossEntropy(this.logits(batch), batch.tgtOut, { validLens: batch.tgtLens }),
    );
  }

  /**
   * The teacher-forced pass over decoder inputs `tgtIn` (the targets shifted right).
   * @param src `[B, S]` int32, `srcLens` `[B]`, `tgtIn` `[B, T]` int32
   */
  abstract forward(src: tf.Tensor2D, srcLens: tf.Tensor1D, tgtIn: tf.Tensor2D): Seq2SeqOutput;

  /** One decoding step (`StepDecoder.step`). */
  abstract step(prev: tf.Tensor1D, state: State): DecoderStep<State>;

  /** Encodes a checked source and returns the initial state (no checks). */
  protected abstract startState(src: tf.Tensor2D, srcLens?: tf.Tensor1D): State;
}
