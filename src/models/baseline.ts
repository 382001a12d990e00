/**
 * The encoder-decoder without attention (Cho et al., 2014, "Learning Phrase Representations using
 * RNN Encoder-Decoder for Statistical Machine Translation"): the decoder sees the source only
 * through one fixed-size summary `c`, the same vector at every step. Chapter 03 measures how that
 * bottleneck fails as sources grow.
 *
 * Same encoder and sizes as `BahdanauSeq2Seq`, minus the attention:
 *
 * ```text
 * c      = [h_len^> ; h_1^<]                                 summary of the source, [B, 2 Denc]
 * s_0    = tanh(W_s c)                                       (Cho et al., eq. 1 of appendix A.2)
 * s_i    = GRU([E_y y_{i-1} ; c], s_{i-1})                   the same c at every step
 * logits = W_o [s_i ; c] + b_o
 * ```
 *
 * Deviations: the encoder is bidirectional (as the attention model's, so that only attention
 * differs), `c` is the two final states without the paper's extra `tanh(V h)`, and the output
 * layer is linear without maxout and without `y_{i-1}`.
 */
import * as tf from '@tensorflow/tfjs';
import { Embedding } from '../core/embedding';
import { GRUCell } from '../core/gru';
import { Linear } from '../core/linear';
import { op } from '../core/op';
import { deriveSeed } from '../core/random';
import { checkShape } from '../core/shapes';
import type { DecoderStep } from '../decode/step-decoder';
import { BiGRUEncoder, type Seq2SeqConfig } from './encoder';
import {
  checkIds,
  checkSource,
  projectTargets,
  resolveSeq2SeqConfig,
  type ResolvedSeq2SeqConfig,
} from './seq2seq-parts';
import { Seq2SeqModule, type Seq2SeqOutput } from './seq2seq-module';

/** The decoding state of `BaselineSeq2Seq`: no per-position tensor, only the summary. */
export interface BaselineState {
  /** `[B, Ddec]` the decoder state `s_{i-1}`. */
  s: tf.Tensor2D;
  /** `[B, 2 Denc]` the fixed summary `c` of the source. */
  summary: tf.Tensor2D;
}

/** The encoder-decoder without attention (see the module comment); `attentionHidden` is unused. */
export class BaselineSeq2Seq extends Seq2SeqModule<BaselineState> {
  readonly config: ResolvedSeq2SeqConfig;
  readonly encoder: BiGRUEncoder;
  readonly tgtEmbed: Embedding;
  /** `W_s`: `[2 Denc, Ddec]`. */
  readonly init: Linear;
  /** The decoder GRU, input `[E_y y ; c]` of width `Demb + 2 Denc`. */
  readonly cell: GRUCell;
  /** `W_o`: `[Ddec + 2 Denc, V]`. */
  readonly out: Linear;

  constructor(config: Seq2SeqConfig) {
    super();
    const c = resolveSeq2SeqConfig(config, 'BaselineSeq2Seq');
    this.config = c;
    const seed = (part: string): number => deriveSeed(c.seed, part);
    const summary = 2 * c.encoderHidden;
    this.encoder = new BiGRUEncoder({
      vocabSize: c.srcVocab,
      embedDim: c.embedDim,
      hiddenSize: c.encoderHidden,
      seed: seed('encoder'),
    });
    this.tgtEmbed = new Embedding({ vocabSize: c.tgtVocab, dModel: c.embedDim, seed: seed('tgt') });
    this.init = new Linear({
      inFeatures: summary,
      outFeatures: c.decoderHidden,
      bias: false,
      seed: seed('init'),
    });
    this.cell = new GRUCell({
      inputSize: c.embedDim + summary,
      hiddenSize: c.decoderHidden,
      seed: seed('cell'),
    });
    this.out = new Linear({
      inFeatures: c.decoderHidden + summary,
      outFeatures: c.tgtVocab,
      seed: seed('out'),
    });
  }

  /**
   * One decoding step (`StepDecoder.step`); no attention weights.
   * @param prev `[B]` int32 the previous token
   * @returns logits `[B, V]` and the new state
   */
  step(prev: tf.Tensor1D, state: BaselineState): DecoderStep<BaselineState> {
    return op(
      'BaselineSeq2Seq.step',
      () => this.checkStep(prev, state),
      () => {
        const [wXy, wXc] = this.inputWeights();
        const y = tf.gather(this.tgtEmbed.weight, prev); // [V, Demb] at [B] -> [B, Demb]
        const yp = tf.add(tf.matMul(y, wXy), this.cell.bX); // [B, Demb] x [Demb, 3 Ddec] -> [B, 3 Ddec]
        const cp = tf.matMul(state.summary, wXc); // [B, 2 Denc] x [2 Denc, 3 Ddec] -> [B, 3 Ddec]
        const s = this.cell.stepProjected(tf.add(yp, cp), [state.s])[0] as tf.Tensor2D; // [B, Ddec]
        const logits = this.out.apply(tf.concat([s, state.summary], 1)) as tf.Tensor2D; // [B, Ddec + 2 Denc] -> [B, V]
        return { logits, state: { s, summary: state.summary } };
      },
    ) as unknown as DecoderStep<BaselineState>;
  }

  /**
   * The teacher-forced pass.
   * @param src `[B, S]` int32, `srcLens` `[B]`, `tgtIn` `[B, T]` int32
   * @returns logits `[B, T, V]`
   */
  forward(src: tf.Tensor2D, srcLens: tf.Tensor1D, tgtIn: tf.Tensor2D): Seq2SeqOutput {
    return op(
      'BaselineSeq2Seq.forward',
      () => {
        checkSource(src, srcLens, this.config.srcVocab);
        checkIds(tgtIn, 'tgtIn', this.config.tgtVocab, [src.shape[0], 'T']);
      },
      () => {
        const [batch, steps] = tgtIn.shape;
        // 1) encode into c; s_0
        const { s: s0, summary } = this.startState(src, srcLens);
        // 2) the GRU input projection: embedding part for all steps, summary part once
        const [wXy, wXc] = this.inputWeights();
        const cp = tf.matMul(summary, wXc); // [B, 2 Denc] x [2 Denc, 3 Ddec] -> [B, 3 Ddec]
        const yps = projectTargets(this.tgtEmbed.weight, wXy, this.cell.bX, tgtIn);
        // 3) the recurrence
        let s: tf.Tensor = s0;
        const states: tf.Tensor[] = [];
        for (const yp of yps) {
          s = this.cell.stepProjected(tf.add(yp, cp), [s])[0]; // [B, Ddec]
          states.push(s);
        }
        // 4) the output layer for all steps at once, [s_i ; c]
        const all = tf.stack(states, 1); // T x [B, Ddec] -> [B, T, Ddec]
        const c = tf.broadcastTo(summary.expandDims(1), [batch, steps, summary.shape[1]]); // [B, 2 Denc] -> [B, T, 2 Denc]
        const logits = this.out.apply(tf.concat([all, c], 2)) as tf.Tensor3D; // [B, T, Ddec + 2 Denc] -> [B, T, V]
        return { logits };
      },
    ) as unknown as Seq2SeqOutput;
  }

  protected startState(src: tf.Tensor2D, srcLens?: tf.Tensor1D): BaselineState {
    const summary = this.encoder.encode(src, srcLens).final; // [B, 2 Denc]
    const s = tf.tanh(this.init.apply(summary)) as tf.Tensor2D; // [B, 2 Denc] -> [B, Ddec]
    return { s, summary };
  }

  private inputWeights(): [tf.Tensor2D, tf.Tensor2D] {
    const e = this.config.embedDim;
    const wX = this.cell.wX as tf.Tensor2D;
    return [wX.slice([0, 0], [e, -1]), wX.slice([e, 0], [-1, -1])]; // [Demb + 2 Denc, 3 Ddec] -> [Demb, .], [2 Denc, .]
  }

  private checkStep(prev: unknown, state: unknown): void {
    checkIds(prev, 'prev', this.config.tgtVocab, ['B']);
    if (typeof state !== 'object' || state === null) {
      throw new TypeError(`state: expected { s, summary }, got ${String(state)}`);
    }
    const st = state as Partial<BaselineState>;
    const batch = (prev as tf.Tensor).shape[0];
    checkShape(st.s, [batch, this.config.decoderHidden], 'state.s');
    checkShape(st.summary, [batch, 2 * this.config.encoderHidden], 'state.summary');
  }
}
