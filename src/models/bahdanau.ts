/**
 * The RNN encoder-decoder with additive attention of Bahdanau, Cho and Bengio (2014), "Neural
 * Machine Translation by Jointly Learning to Align and Translate", at character level.
 *
 * A bidirectional GRU annotates each source position, `h_j = [h_j^> ; h_j^<]` (`encoder.ts`).
 * The decoder is a GRU whose state `s_i` starts from the backward first state and, at every
 * target step `i`, looks at all annotations with its previous state as the query:
 *
 * ```text
 * s_0    = tanh(W_s h_1^<)                                   (appendix A.2.2)
 * e_ij   = v_a^T tanh(W_a s_{i-1} + U_a h_j)                 score, eq. 6
 * a_ij   = exp(e_ij) / sum_{k < len} exp(e_ik)               weights, eq. 6; padding gets 0
 * c_i    = sum_j a_ij h_j                                    context, eq. 5
 * s_i    = GRU([E_y y_{i-1} ; c_i], s_{i-1})                 eq. 4 (context into the GRU input)
 * logits = W_o [s_i ; c_i] + b_o                             eq. 4's g (context into the output)
 * ```
 *
 * `U_a h_j` does not depend on `i`: it is computed once per source (`keys`), so a step costs one
 * `[B, Ddec] x [Ddec, A]` product for the query plus the `[B, S, A]` tanh and its `v_a` product.
 *
 * Deviations from the paper (the chapter's "paper vs this notebook" box): characters, not words;
 * smaller widths; the output layer is a plain linear layer of `[s_i ; c_i]`, without the paper's
 * maxout and without `y_{i-1}`; PyTorch's GRU gate variant (`src/core/gru.ts`); trained with Adam.
 */
import * as tf from '@tensorflow/tfjs';
import { AdditiveAttention, additiveScores } from '../attention/scoring';
import { sequenceMask } from '../attention/masks';
import { Embedding } from '../core/embedding';
import { GRUCell } from '../core/gru';
import { fusedGruActive, fusedOpsEnabled } from '../core/gru-fused';
import { Linear } from '../core/linear';
import { op } from '../core/op';
import { deriveSeed } from '../core/random';
import { assertTensor, checkDtype, checkShape } from '../core/shapes';
import type { DecoderStep } from '../decode/step-decoder';
import { bahdanauDecoderFused } from './bahdanau-fused';
import { BiGRUEncoder, type Seq2SeqConfig } from './encoder';
import {
  checkIds,
  checkSource,
  projectTargets,
  projectTargetsStacked,
  resolveSeq2SeqConfig,
  type ResolvedSeq2SeqConfig,
} from './seq2seq-parts';
import { Seq2SeqModule, type Seq2SeqOutput } from './seq2seq-module';

/**
 * The score given to padded source positions: far below any real score, so that
 * `exp(score - max)` underflows to exactly 0 in float32, and finite, so that no `-Infinity`
 * reaches a gradient.
 */
const PAD_SCORE = -1e9;

/** The decoding state of `BahdanauSeq2Seq` (every tensor has the batch on axis 0). */
export interface BahdanauState {
  /** `[B, Ddec]` the decoder state `s_{i-1}`. */
  s: tf.Tensor2D;
  /** `[B, S, 2 Denc]` the annotations `h_j` (the values attended over). */
  memory: tf.Tensor3D;
  /** `[B, S, A]` `U_a h_j`, computed once per source. */
  keys: tf.Tensor3D;
  /**
   * `[B, S]` float32 added to the scores: 0 at real source positions, `-1e9` at padding, where
   * `exp` then gives exactly 0 (see `decodeOne`).
   */
  padBias: tf.Tensor2D;
}

export type { Seq2SeqOutput } from './seq2seq-module';

/**
 * Bahdanau et al.'s attention encoder-decoder (see the module comment). Trains with `fit()`
 * through `loss(batch)`, decodes with `greedyDecode(model, src, ...)`.
 *
 * ```ts
 * const model = new ah.BahdanauSeq2Seq({ srcVocab: 40, tgtVocab: 14, bos: 1, eos: 2 });
 * await ah.fit({ model: model, loss: (b, m) => m.loss(b), data: train, steps: 300 });
 * const out = ah.greedyDecode(model, src, { maxLen: 11, srcValidLens: srcLens });
 * ```
 */
export class BahdanauSeq2Seq extends Seq2SeqModule<BahdanauState> {
  readonly config: ResolvedSeq2SeqConfig;
  readonly encoder: BiGRUEncoder;
  readonly tgtEmbed: Embedding;
  /** `W_s`: `[Denc, Ddec]`, the initial decoder state from `h_1^<`. */
  readonly init: Linear;
  /** `W_a` (`wQ`), `U_a` (`wK`) and `v_a` (`v`). */
  readonly attention: AdditiveAttention;
  /** The decoder GRU, input `[E_y y ; c]` of width `Demb + 2 Denc`. */
  readonly cell: GRUCell;
  /** `W_o`: `[Ddec + 2 Denc, V]`. */
  readonly out: Linear;

  constructor(config: Seq2SeqConfig) {
    super();
    const c = resolveSeq2SeqConfig(config, 'BahdanauSeq2Seq');
    this.config = c;
    const seed = (part: string): number => deriveSeed(c.seed, part);
    const annotation = 2 * c.encoderHidden;
    this.encoder = new BiGRUEncoder({
      vocabSize: c.srcVocab,
      embedDim: c.embedDim,
      hiddenSize: c.encoderHidden,
      seed: seed('encoder'),
    });
    this.tgtEmbed = new Embedding({ vocabSize: c.tgtVocab, dModel: c.embedDim, seed: seed('tgt') });
    this.init = new Linear({
      inFeatures: c.encoderHidden,
      outFeatures: c.decoderHidden,
      bias: false,
      seed: seed('init'),
    });
    this.attention = new AdditiveAttention({
      queryDim: c.decoderHidden,
      keyDim: annotation,
      hiddenDim: c.attentionHidden,
      seed: seed('attention'),
    });
    this.cell = new GRUCell({
      inputSize: c.embedDim + annotation,
      hiddenSize: c.decoderHidden,
      seed: seed('cell'),
    });
    this.out = new Linear({
      inFeatures: c.decoderHidden + annotation,
      outFeatures: c.tgtVocab,
      seed: seed('out'),
    });
  }

  /**
   * One decoding step (`StepDecoder.step`): attend with `s_{i-1}`, update the GRU, score.
   * @param prev `[B]` int32 the previous token `y_{i-1}`
   * @returns logits `[B, V]`, the new state, and the weights `a_i` `[B, S]`
   */
  step(prev: tf.Tensor1D, state: BahdanauState): DecoderStep<BahdanauState> {
    return op(
      'BahdanauSeq2Seq.step',
      () => this.checkStep(prev, state),
      () => {
        const [wXy, wXc] = this.inputWeights();
        const y = tf.gather(this.tgtEmbed.weight, prev); // [V, Demb] at [B] -> [B, Demb]
        const yp = tf.add(tf.matMul(y, wXy), this.cell.bX); // [B, Demb] x [Demb, 3 Ddec] -> [B, 3 Ddec]
        const { s, context, weights } = this.decodeOne(yp, wXc, state);
        const logits = this.out.apply(tf.concat([s, context], 1)) as tf.Tensor2D; // [B, Ddec + 2 Denc] -> [B, V]
        return { logits, state: { ...state, s }, weights };
      },
    ) as unknown as DecoderStep<BahdanauState>;
  }

  /**
   * The teacher-forced pass: decoder inputs `tgtIn` (the targets shifted right) at every step.
   * @param src `[B, S]` int32, `srcLens` `[B]`, `tgtIn` `[B, T]` int32
   * @returns logits `[B, T, V]` and the attention weights `[B, T, S]`
   */
  forward(src: tf.Tensor2D, srcLens: tf.Tensor1D, tgtIn: tf.Tensor2D): Seq2SeqOutput {
    return op(
      'BahdanauSeq2Seq.forward',
      () => {
        checkSource(src, srcLens, this.config.srcVocab);
        checkIds(tgtIn, 'tgtIn', this.config.tgtVocab, [src.shape[0], 'T']);
      },
      () => {
        const [batch, steps] = tgtIn.shape;
        // 1) encode; U_a h_j once per source; s_0
        let state = this.startState(src, srcLens);
        // 2) the embedding part of the GRU input for all steps: T x [B, 3 Ddec]
        const [wXy, wXc] = this.inputWeights();
        if (steps > 0 && fusedGruActive()) {
          // 3-4) the same recurrence as one op with a hand-written backward (`bahdanau-fused.ts`)
          const all = bahdanauDecoderFused({
            yps: projectTargetsStacked(this.tgtEmbed.weight, wXy, this.cell.bX, tgtIn),
            s0: state.s,
            keys: state.keys,
            memory: state.memory,
            padBias: state.padBias,
            wA: this.attention.wQ.weight as tf.Tensor2D,
            v: this.attention.v as tf.Tensor1D,
            wXc,
            wH: this.cell.wH as tf.Tensor2D,
            bH: this.cell.bH as tf.Tensor1D,
          }); // [T, B, Ddec + 2 Denc + S]
          const feat = this.config.decoderHidden + state.memory.shape[2];
          const [feats, weights] = tf.split(all.transpose([1, 0, 2]), [feat, -1], 2); // -> [B, T, Ddec + 2 Denc], [B, T, S]
          const logits = this.out.apply(feats).reshape([batch, steps, this.config.tgtVocab]); // -> [B, T, V]
          return { logits, weights };
        }
        const yps = projectTargets(this.tgtEmbed.weight, wXy, this.cell.bX, tgtIn);
        // 3) the recurrence: attend with s_{i-1}, then s_i
        const states: tf.Tensor[] = [];
        const contexts: tf.Tensor[] = [];
        const weights: tf.Tensor[] = [];
        for (const yp of yps) {
          const step = this.decodeOne(yp, wXc, state);
          state = { ...state, s: step.s };
          states.push(step.s);
          contexts.push(step.context);
          weights.push(step.weights);
        }
        // 4) the output layer for all steps at once, on [s_i ; c_i]
        const feats = tf.concat([tf.stack(states, 1), tf.stack(contexts, 1)], 2); // [B, T, Ddec] ; [B, T, 2 Denc] -> [B, T, Ddec + 2 Denc]
        const logits = this.out.apply(feats).reshape([batch, steps, this.config.tgtVocab]); // -> [B, T, V]
        return { logits, weights: tf.stack(weights, 1) }; // T x [B, S] -> [B, T, S]
      },
    ) as unknown as Seq2SeqOutput;
  }

  /** Encoder, `U_a h_j`, the source mask and `s_0` (no checks). */
  protected startState(src: tf.Tensor2D, srcLens?: tf.Tensor1D): BahdanauState {
    const [batch, srcLen] = src.shape;
    const enc = this.encoder.encode(src, srcLens); // [B, S, 2 Denc]
    const keys = this.attention.wK.apply(enc.outputs) as tf.Tensor3D; // [B, S, 2 Denc] -> [B, S, A]
    const keep =
      srcLens === undefined ? tf.ones([batch, srcLen], 'bool') : sequenceMask(srcLens, srcLen); // [B, S]
    const padBias = tf.where(keep, tf.zeros([batch, srcLen]), tf.fill([batch, srcLen], PAD_SCORE));
    const s = tf.tanh(this.init.apply(enc.backwardFirst)) as tf.Tensor2D; // [B, Denc] -> [B, Ddec]
    return { s, memory: enc.outputs, keys, padBias: padBias as tf.Tensor2D };
  }

  /** The GRU's input weights split into the embedding rows and the context rows. */
  private inputWeights(): [tf.Tensor2D, tf.Tensor2D] {
    const e = this.config.embedDim;
    const wX = this.cell.wX as tf.Tensor2D;
    return [wX.slice([0, 0], [e, -1]), wX.slice([e, 0], [-1, -1])]; // [Demb + 2 Denc, 3 Ddec] -> [Demb, .], [2 Denc, .]
  }

  /**
   * One step from the projected embedding `yp = E_y y W_x[:Demb] + b_x` `[B, 3 Ddec]` (no checks).
   * @returns `s_i` `[B, Ddec]`, `c_i` `[B, 2 Denc]` and `a_i` `[B, S]`
   */
  private decodeOne(
    yp: tf.Tensor,
    wXc: tf.Tensor2D,
    state: BahdanauState,
  ): { s: tf.Tensor2D; context: tf.Tensor2D; weights: tf.Tensor2D } {
    const { s: prev, memory, keys, padBias } = state;
    let a: tf.Tensor2D; // [B, S]
    let context: tf.Tensor2D; // [B, 2 Denc]
    if (fusedOpsEnabled()) {
      // steps 1) and 2) below as one op with a hand-written backward (same values)
      const q = this.attention.wQ.apply(prev); // [B, Ddec] -> [B, A]
      const m = memory.shape[2];
      const both = additiveAttendStep(q, keys, this.attention.v, padBias, memory); // [B, 2 Denc + S]
      context = both.slice([0, 0], [-1, m]) as tf.Tensor2D; // -> [B, 2 Denc]
      a = both.slice([0, m], [-1, -1]) as tf.Tensor2D; // -> [B, S]
    } else {
      // 1) scores e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)
      const q = this.attention.wQ.apply(prev).expandDims(1); // [B, Ddec] -> [B, A] -> [B, 1, A]
      const scores = additiveScores(q, keys, this.attention.v); // [B, 1, S]
      // 2) weights over the real positions, context c_i = sum_j a_ij h_j
      //    Padding: the mask was turned into an additive bias once per source (`start`), so a step
      //    costs an add and a softmax; equal to `maskedSoftmax(scores, { validLens })`, exactly 0 at
      //    padding (every source has a real position), with ~10 kernels per step fewer.
      const a3 = tf.softmax(tf.add(scores, padBias.expandDims(1))) as tf.Tensor3D; // [B, 1, S] + [B, 1, S]
      context = tf.matMul(a3, memory).squeeze([1]) as tf.Tensor2D; // [B, 1, S] x [B, S, 2 Denc] -> [B, 2 Denc]
      a = a3.squeeze([1]) as tf.Tensor2D; // [B, 1, S] -> [B, S]
    }
    // 3) s_i = GRU([E_y y_{i-1} ; c_i], s_{i-1})
    const xp = tf.add(yp, tf.matMul(context, wXc)); // [B, 2 Denc] x [2 Denc, 3 Ddec] -> [B, 3 Ddec]
    const s = this.cell.stepProjected(xp, [prev])[0] as tf.Tensor2D; // [B, Ddec]
    return { s, context, weights: a };
  }

  private checkStep(prev: unknown, state: unknown): void {
    checkIds(prev, 'prev', this.config.tgtVocab, ['B']);
    if (typeof state !== 'object' || state === null) {
      throw new TypeError(`state: expected { s, memory, keys, padBias }, got ${String(state)}`);
    }
    const st = state as Partial<BahdanauState>;
    const batch = (prev as tf.Tensor).shape[0];
    const c = this.config;
    checkShape(st.s, [batch, c.decoderHidden], 'state.s');
    checkShape(st.memory, [batch, 'S', 2 * c.encoderHidden], 'state.memory');
    const srcLen = st.memory!.shape[1];
    checkShape(st.keys, [batch, srcLen, c.attentionHidden], 'state.keys');
    assertTensor(st.padBias, 'state.padBias');
    checkShape(st.padBias, [batch, srcLen], 'state.padBias');
    checkDtype(st.padBias, 'float32', 'state.padBias');
  }
}

/**
 * One decoder step's additive attention as a single op with a hand-written backward
 * (`tf.customGrad`): the scores `e = v_a^T tanh(q + k_j)`, the weights `a = softmax(e + padBias)`
 * and the context `c = sum_j a_j h_j`, equal to `decodeOne`'s plain steps 1) and 2). Its backward
 * runs about half the kernels autograd replays for the same ops (`tanh'` from the saved
 * features, the softmax gradient in three ops):
 *
 * ```text
 * da = dc h^T + d(a)            ds = a (da - sum_j a_j da_j)          (softmax)
 * dpre = ds v (1 - f^2)         dq = sum_j dpre_j, dk = dpre, dv = sum f ds, dh = a^T dc
 * ```
 * @param q `[B, A]` the query `W_a s_{i-1}`
 * @param keys `[B, S, A]` `U_a h_j`
 * @param v `[A]`
 * @param padBias `[B, S]` 0 at real positions, `-1e9` at padding
 * @param memory `[B, S, M]` the annotations `h_j`
 * @returns `[B, M + S]`: the context, then the weights
 */
function additiveAttendStep(
  q: tf.Tensor,
  keys: tf.Tensor3D,
  v: tf.Tensor,
  padBias: tf.Tensor2D,
  memory: tf.Tensor3D,
): tf.Tensor2D {
  const [batch, srcLen, hidden] = keys.shape;
  const width = memory.shape[2];
  const attend = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qq, kk, vv, pb, mem] = args as tf.Tensor[];
    const save = args[5] as tf.GradSaveFunc;
    const feats = tf.tanh(tf.add(qq.reshape([batch, 1, hidden]), kk)); // [B, 1, A] + [B, S, A] -> [B, S, A]
    const scores = tf
      .matMul(feats.reshape([batch * srcLen, hidden]), vv.reshape([hidden, 1])) // [B*S, A] x [A, 1] -> [B*S, 1]
      .reshape([batch, srcLen]); // -> [B, S]
    const a = tf.softmax(tf.add(scores, pb)); // [B, S]
    const context = tf.matMul(a.reshape([batch, 1, srcLen]), mem).reshape([batch, width]); // [B, 1, S] x [B, S, M] -> [B, M]
    save([feats, a, vv, mem]);
    return {
      value: tf.concat([context, a], 1), // [B, M] ; [B, S] -> [B, M + S]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [f, aS, vS, memS] = saved;
        const [dc, dA] = tf.split(dy, [width, srcLen], 1); // [B, M + S] -> [B, M], [B, S]
        const dc3 = dc.reshape([batch, 1, width]); // [B, 1, M]
        const da = tf.add(tf.matMul(dc3, memS, false, true).reshape([batch, srcLen]), dA); // [B, 1, M] x [B, S, M]^T -> [B, S]
        const dMem = tf.matMul(aS.reshape([batch, srcLen, 1]), dc3); // [B, S, 1] x [B, 1, M] -> [B, S, M]
        const ds = tf.mul(aS, tf.sub(da, tf.sum(tf.mul(aS, da), 1, true))); // softmax backward, [B, S]
        const dPre = tf.mul(
          tf.mul(ds.reshape([batch, srcLen, 1]), vS), // [B, S, 1] * [A] -> [B, S, A]
          tf.sub(1, tf.square(f)), // tanh' = 1 - f^2
        );
        const dq = tf.sum(dPre, 1); // [B, S, A] -> [B, A]
        const dv = tf
          .matMul(f.reshape([batch * srcLen, hidden]), ds.reshape([batch * srcLen, 1]), true) // [B*S, A]^T x [B*S, 1] -> [A, 1]
          .reshape([hidden]);
        return [dq, dPre, dv, ds, dMem];
      },
    };
  });
  return attend(q, keys, v, padBias, memory) as tf.Tensor2D;
}
