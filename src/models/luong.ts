/**
 * The attention encoder-decoder of Luong, Pham and Manning (2015), "Effective Approaches to
 * Attention-based Neural Machine Translation", at character level, on chapter 03's bidirectional
 * GRU encoder (`encoder.ts`).
 *
 * The difference from Bahdanau's decoder is where attention sits. Luong's decoder first updates
 * its GRU, then attends with its CURRENT state `h_t` as the query, and the context goes into the
 * output, not into the recurrence (except through input feeding):
 *
 * ```text
 * h_0    = tanh(W_i h_1^<)                                   as chapter 03 (the paper: the encoder's last state)
 * x_t    = [E_y y_{t-1} ; h~_{t-1}]                          input feeding, section 3.3 (h~_0 = 0); [E_y y_{t-1}] without
 * h_t    = GRU(x_t, h_{t-1})
 * score(h_t, hbar_s) = h_t^T hbar_s                          dot,     eq. 8
 *                    = h_t^T W_a hbar_s                      general, eq. 8
 *                    = v_a^T tanh(W_a [h_t ; hbar_s])        concat,  eq. 8
 * a_t    = softmax_s(score)                                  global, eq. 7; padding gets exactly 0
 * c_t    = sum_s a_t(s) hbar_s
 * h~_t   = tanh(W_c [c_t ; h_t])                             attentional hidden state, eq. 5
 * logits = W_s h~_t + b_s                                    eq. 6 (softmax in the loss)
 * ```
 *
 * Local attention (section 3.2) attends to a window `[p_t - Dw, p_t + Dw]` only, truncated at the
 * sentence edges and at each source's valid length `L` (positions outside get exactly 0):
 *
 * - `local-m`: `p_t = t` (monotonic alignment), clamped to `L - 1` so that a target longer than
 *   its source still sees a real position (the paper does not say what happens past the end);
 *   weights are the softmax of the scores inside the window.
 * - `local-p`: `p_t = L sigmoid(v_p^T tanh(W_p h_t))` (eq. 9, with `L` each source's VALID length,
 *   as the paper's `S`), then `a_t(s) = align_t(s) exp(-(s - p_t)^2 / (2 sigma^2))` with
 *   `sigma = Dw / 2` (eq. 10), `align_t` the softmax inside the window; not renormalised, as in
 *   the paper. Positions `s` count from 0, so `p_t` lies in `(0, L)`: the window always holds a
 *   real position when `Dw >= 1`. (The older `LocalPAttention` layer of `src/attention/local.ts`
 *   scales by `L - 1` instead; this model follows the paper.) `forward` returns the centres `p_t`.
 *
 * Deviations from the paper (the chapter's "paper vs this notebook" box): characters, not words;
 * one GRU layer instead of four LSTM layers; a bidirectional encoder (the paper's is
 * unidirectional) whose annotations are `2 Denc` wide, so `dot` needs `Ddec = 2 Denc`; trained
 * with Adam.
 */
import * as tf from '@tensorflow/tfjs';
import { additiveScores, LuongConcatAttention, LuongGeneralAttention } from '../attention/scoring';
import { localWindowMask } from '../attention/local';
import { sequenceMask } from '../attention/masks';
import { Embedding } from '../core/embedding';
import { GRUCell } from '../core/gru';
import { lecunUniform } from '../core/init';
import { Linear } from '../core/linear';
import { parameter } from '../core/module';
import { op } from '../core/op';
import { deriveSeed } from '../core/random';
import { assertTensor, checkDtype, checkInt, checkShape } from '../core/shapes';
import type { DecoderStep } from '../decode/step-decoder';
import { BiGRUEncoder, type Seq2SeqConfig } from './encoder';
import {
  checkConfigObject,
  checkIds,
  checkSource,
  resolveSeq2SeqConfig,
  type ResolvedSeq2SeqConfig,
} from './seq2seq-parts';
import { Seq2SeqModule, type Seq2SeqOutput } from './seq2seq-module';

/** Score `0` for real source positions and this for padding or outside a local window. */
const PAD_SCORE = -1e9;

/** Luong's three score functions (eq. 8). */
export type LuongScore = 'dot' | 'general' | 'concat';

/** Global attention or one of Luong's two local variants (section 3.2). */
export type LuongAttentionKind = 'global' | 'local-m' | 'local-p';

/** Configuration of `LuongSeq2Seq`: chapter 03's fields plus Luong's choices. */
export interface LuongConfig extends Seq2SeqConfig {
  /** Score function. Defaults to `'general'`. `'dot'` needs `decoderHidden = 2 * encoderHidden`. */
  score?: LuongScore;
  /** Global or local attention. Defaults to `'global'`. */
  attention?: LuongAttentionKind;
  /**
   * Half-width `Dw` of the local window (the paper's `D`, 10 for word sentences), an integer
   * `>= 1`; local-p's Gaussian has `sigma = Dw / 2`. Defaults to `5` (date sources are 8-30
   * characters). Ignored by global attention.
   */
  window?: number;
  /** Feed `h~_{t-1}` into the next step's input (section 3.3). Defaults to `true`. */
  inputFeeding?: boolean;
  /**
   * `attentionHidden` (from `Seq2SeqConfig`, default 64) is the width `A` of `concat`'s hidden
   * layer and of local-p's position predictor `W_p`.
   */
  attentionHidden?: number;
}

/** A `LuongConfig` with every default filled in. */
export type ResolvedLuongConfig = ResolvedSeq2SeqConfig & {
  score: LuongScore;
  attention: LuongAttentionKind;
  window: number;
  inputFeeding: boolean;
};

/** The decoding state of `LuongSeq2Seq` (every tensor has the batch on axis 0). */
export interface LuongState {
  /** `[B, Ddec]` the GRU state `h_{t-1}`. */
  h: tf.Tensor2D;
  /** `[B, Ddec]` the previous attentional state `h~_{t-1}` (zeros at the start). */
  feed: tf.Tensor2D;
  /** `[B, S, 2 Denc]` the encoder states `hbar_s` (the values attended over). */
  memory: tf.Tensor3D;
  /** `[B, S, K]` keys: `hbar_s` for dot and general, `hbar_s W_a[bottom]` (`K = A`) for concat. */
  keys: tf.Tensor3D;
  /** `[B, S]` 0 at real source positions, `-1e9` at padding. */
  padBias: tf.Tensor2D;
  /** `[B, 1]` float32 valid source lengths `L`. */
  lens: tf.Tensor2D;
  /** `[B]` float32 the step index `t` (from 0): local-m's centre. */
  t: tf.Tensor1D;
}

/** `forward`'s result: logits, weights, and local attention's centres. */
export interface LuongOutput extends Seq2SeqOutput {
  /** `[B, T, S]` the attention weights `a_t(s)` (always given). */
  weights: tf.Tensor3D;
  /** `[B, T]` the window centres `p_t` (local-m and local-p only). */
  positions?: tf.Tensor2D;
}

/** One decoding step's inner result (no checks). */
interface Inner {
  h: tf.Tensor2D;
  attentional: tf.Tensor2D;
  weights: tf.Tensor2D;
  position?: tf.Tensor1D;
}

function resolveLuongConfig(config: LuongConfig): ResolvedLuongConfig {
  checkConfigObject(
    config,
    'LuongSeq2Seq',
    '{ srcVocab, tgtVocab, score?, attention?, window?, inputFeeding?, embedDim?, encoderHidden?, decoderHidden?, attentionHidden?, bos?, eos?, seed? }',
  );
  const base = resolveSeq2SeqConfig(config, 'LuongSeq2Seq');
  const score = config.score ?? 'general';
  if (!['dot', 'general', 'concat'].includes(score)) {
    throw new RangeError(`score: expected 'dot', 'general' or 'concat', got ${String(score)}`);
  }
  const attention = config.attention ?? 'global';
  if (!['global', 'local-m', 'local-p'].includes(attention)) {
    throw new RangeError(
      `attention: expected 'global', 'local-m' or 'local-p', got ${String(attention)}`,
    );
  }
  const inputFeeding = config.inputFeeding ?? true;
  if (typeof inputFeeding !== 'boolean') {
    throw new TypeError(`inputFeeding: expected true or false, got ${String(inputFeeding)}`);
  }
  if (score === 'dot' && base.decoderHidden !== 2 * base.encoderHidden) {
    throw new RangeError(
      `decoderHidden: the dot score needs decoderHidden = 2 * encoderHidden = ` +
        `${2 * base.encoderHidden} (the width of the encoder states), got ${base.decoderHidden}`,
    );
  }
  return {
    ...base,
    score,
    attention,
    window: checkInt(config.window ?? 5, 'window', 1),
    inputFeeding,
  };
}

/**
 * Luong et al.'s attention encoder-decoder (see the module comment): global attention with the
 * `dot`, `general` or `concat` score, or local attention (`local-m`, `local-p`), with or without
 * input feeding. A `Module` and a `StepDecoder`, like `BahdanauSeq2Seq`: trains with `fit()`
 * through `loss(batch)`, decodes with `greedyDecode` or `beamSearch`.
 *
 * ```ts
 * const model = new ah.LuongSeq2Seq({ srcVocab: 40, tgtVocab: 14, bos: 1, eos: 2,
 *   score: 'general', attention: 'local-p', window: 5 });
 * const { logits, weights, positions } = model.forward(src, srcLens, tgtIn); // positions: p_t
 * ```
 */
export class LuongSeq2Seq extends Seq2SeqModule<LuongState> {
  readonly config: ResolvedLuongConfig;
  readonly encoder: BiGRUEncoder;
  readonly tgtEmbed: Embedding;
  /** `W_i`: `[Denc, Ddec]`, the initial decoder state from `h_1^<`. */
  readonly init: Linear;
  /** The decoder GRU, input `[E_y y ; h~]` (`Demb + Ddec`) or `E_y y` (`Demb`). */
  readonly cell: GRUCell;
  /** `general`: `W_a` `[Ddec, 2 Denc]`; `concat`: `W_a` `[Ddec + 2 Denc, A]` and `v_a`; `dot`: none. */
  readonly attention: LuongGeneralAttention | LuongConcatAttention | null;
  /** local-p's `W_p` `[Ddec, A]` (no bias); `null` otherwise. */
  readonly wP: Linear | null;
  /** local-p's `v_p` `[A]`; `null` otherwise. */
  readonly vP: tf.Variable | null;
  /** `W_c`: `[2 Denc + Ddec, Ddec]`, no bias (eq. 5), on `[c_t ; h_t]`. */
  readonly combine: Linear;
  /** `W_s`, `b_s`: `[Ddec, V]` (eq. 6). */
  readonly out: Linear;

  /** @param config see `LuongConfig`; every field is checked, naming it on error */
  constructor(config: LuongConfig) {
    super();
    const c = resolveLuongConfig(config);
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
    this.cell = new GRUCell({
      inputSize: c.embedDim + (c.inputFeeding ? c.decoderHidden : 0),
      hiddenSize: c.decoderHidden,
      seed: seed('cell'),
    });
    this.attention =
      c.score === 'general'
        ? new LuongGeneralAttention({
            queryDim: c.decoderHidden,
            keyDim: annotation,
            seed: seed('attention'),
          })
        : c.score === 'concat'
          ? new LuongConcatAttention({
              queryDim: c.decoderHidden,
              keyDim: annotation,
              hiddenDim: c.attentionHidden,
              seed: seed('attention'),
            })
          : null;
    const localP = c.attention === 'local-p';
    this.wP = localP
      ? new Linear({
          inFeatures: c.decoderHidden,
          outFeatures: c.attentionHidden,
          bias: false,
          seed: seed('wP'),
        })
      : null;
    this.vP = localP
      ? parameter(lecunUniform([c.attentionHidden], c.attentionHidden, seed('vP')))
      : null;
    this.combine = new Linear({
      inFeatures: annotation + c.decoderHidden,
      outFeatures: c.decoderHidden,
      bias: false,
      seed: seed('combine'),
    });
    this.out = new Linear({
      inFeatures: c.decoderHidden,
      outFeatures: c.tgtVocab,
      seed: seed('out'),
    });
  }

  /**
   * One decoding step (`StepDecoder.step`): update the GRU, attend with `h_t`, score.
   * @param prev `[B]` int32 the previous token `y_{t-1}`
   * @returns logits `[B, V]`, the new state, and the weights `a_t` `[B, S]`
   */
  step(prev: tf.Tensor1D, state: LuongState): DecoderStep<LuongState> {
    return op(
      'LuongSeq2Seq.step',
      () => this.checkStep(prev, state),
      () => {
        const y = tf.gather(this.tgtEmbed.weight, prev) as tf.Tensor2D; // [V, Demb] at [B] -> [B, Demb]
        const r = this.decodeOne(y, state);
        const logits = this.out.apply(r.attentional) as tf.Tensor2D; // [B, Ddec] -> [B, V]
        const next: LuongState = { ...state, h: r.h, feed: r.attentional, t: tf.add(state.t, 1) };
        return { logits, state: next as unknown as tf.TensorContainer, weights: r.weights };
      },
    ) as unknown as DecoderStep<LuongState>;
  }

  /**
   * The teacher-forced pass: decoder inputs `tgtIn` (the targets shifted right) at every step.
   * Equal to running `start` and `step` over `tgtIn`.
   * @param src `[B, S]` int32, `srcLens` `[B]`, `tgtIn` `[B, T]` int32
   * @returns logits `[B, T, V]`, the attention weights `[B, T, S]` and, for local attention, the
   *   window centres `positions` `[B, T]`
   */
  forward(src: tf.Tensor2D, srcLens: tf.Tensor1D, tgtIn: tf.Tensor2D): LuongOutput {
    return op(
      'LuongSeq2Seq.forward',
      () => {
        checkSource(src, srcLens, this.config.srcVocab);
        checkIds(tgtIn, 'tgtIn', this.config.tgtVocab, [src.shape[0], 'T']);
      },
      () => {
        const [batch, steps] = tgtIn.shape;
        let state = this.startState(src, srcLens);
        const ids = tgtIn.transpose().reshape([-1]); // [B, T] -> [T, B] -> [T*B]
        const ys = tf.unstack(
          tf.gather(this.tgtEmbed.weight, ids).reshape([steps, batch, this.config.embedDim]),
        ); // [T*B, Demb] -> T x [B, Demb]
        const attentional: tf.Tensor[] = [];
        const weights: tf.Tensor[] = [];
        const positions: tf.Tensor[] = [];
        for (const y of ys) {
          const r = this.decodeOne(y as tf.Tensor2D, state);
          state = { ...state, h: r.h, feed: r.attentional, t: tf.add(state.t, 1) };
          attentional.push(r.attentional);
          weights.push(r.weights);
          if (r.position) positions.push(r.position);
        }
        const feats = tf.stack(attentional, 1); // T x [B, Ddec] -> [B, T, Ddec]
        const logits = this.out.apply(feats).reshape([batch, steps, this.config.tgtVocab]); // -> [B, T, V]
        const result: Record<string, tf.Tensor> = { logits, weights: tf.stack(weights, 1) }; // T x [B, S] -> [B, T, S]
        if (positions.length > 0) result.positions = tf.stack(positions, 1); // T x [B] -> [B, T]
        return result;
      },
    ) as unknown as LuongOutput;
  }

  /** Encoder, keys, the source mask, `h_0` and `h~_0 = 0` (no checks). */
  protected startState(src: tf.Tensor2D, srcLens?: tf.Tensor1D): LuongState {
    const [batch, srcLen] = src.shape;
    const c = this.config;
    const enc = this.encoder.encode(src, srcLens); // [B, S, 2 Denc]
    let keys: tf.Tensor3D = enc.outputs;
    if (this.attention instanceof LuongConcatAttention) {
      const annotation = 2 * c.encoderHidden;
      const wBottom = this.attention.wA.weight.slice([c.decoderHidden, 0], [annotation, -1]); // [Ddec + 2 Denc, A] -> [2 Denc, A]
      keys = tf
        .matMul(enc.outputs.reshape([-1, annotation]), wBottom)
        .reshape([batch, srcLen, c.attentionHidden]); // [B*S, 2 Denc] x [2 Denc, A] -> [B, S, A]
    }
    const lensInt = srcLens ?? tf.fill([batch], srcLen, 'int32');
    const keep = sequenceMask(lensInt, srcLen); // [B, S]
    const padBias = tf.where(keep, tf.zeros([batch, srcLen]), tf.fill([batch, srcLen], PAD_SCORE));
    const h = tf.tanh(this.init.apply(enc.backwardFirst)) as tf.Tensor2D; // [B, Denc] -> [B, Ddec]
    return {
      h,
      feed: tf.zeros([batch, c.decoderHidden]),
      memory: enc.outputs,
      keys,
      padBias: padBias as tf.Tensor2D,
      lens: lensInt.toFloat().reshape([batch, 1]), // [B] -> [B, 1]
      t: tf.zeros([batch]),
    };
  }

  /** Scores `[B, S]` of the query `h_t` `[B, Ddec]` against the keys (no checks). */
  private scores(h: tf.Tensor2D, keys: tf.Tensor3D): tf.Tensor2D {
    const att = this.attention;
    if (att instanceof LuongConcatAttention) {
      const wTop = att.wA.weight.slice([0, 0], [this.config.decoderHidden, -1]); // [Ddec, A]
      const q = tf.matMul(h, wTop).expandDims(1); // [B, Ddec] x [Ddec, A] -> [B, A] -> [B, 1, A]
      return additiveScores(q, keys, att.v).squeeze([1]) as tf.Tensor2D; // [B, 1, S] -> [B, S]
    }
    const q = att instanceof LuongGeneralAttention ? (att.wA.apply(h) as tf.Tensor2D) : h; // [B, Ddec] -> [B, 2 Denc]
    return tf.matMul(q.expandDims(1), keys, false, true).squeeze([1]) as tf.Tensor2D; // [B, 1, 2 Denc] x [B, S, 2 Denc]^T -> [B, S]
  }

  /** One step from the embedded previous token `y` `[B, Demb]` (no checks). */
  private decodeOne(y: tf.Tensor2D, state: LuongState): Inner {
    const c = this.config;
    const srcLen = state.memory.shape[1];
    // 1) h_t = GRU([E_y y_{t-1} ; h~_{t-1}], h_{t-1})
    const x = c.inputFeeding ? tf.concat([y, state.feed], 1) : y; // [B, Demb] ; [B, Ddec] -> [B, Demb + Ddec]
    const h = this.cell.stepProjected(tf.add(tf.matMul(x, this.cell.wX), this.cell.bX), [
      state.h,
    ])[0] as tf.Tensor2D; // [B, I] x [I, 3 Ddec] -> [B, 3 Ddec] -> [B, Ddec]
    // 2) scores with the CURRENT state h_t, padding (and, for local, outside the window) at -1e9
    const scores = this.scores(h, state.keys); // [B, S]
    let weights: tf.Tensor2D;
    let position: tf.Tensor1D | undefined;
    if (c.attention === 'global') {
      weights = tf.softmax(tf.add(scores, state.padBias)) as tf.Tensor2D; // [B, S]
    } else {
      // centre p_t [B, 1]: local-m min(t, L - 1); local-p L sigmoid(v_p^T tanh(W_p h_t)), eq. 9
      const p =
        c.attention === 'local-m'
          ? tf.minimum(state.t.reshape([-1, 1]), tf.sub(state.lens, 1)) // [B] -> [B, 1]
          : tf.mul(
              state.lens,
              tf.sigmoid(tf.matMul(tf.tanh(this.wP!.apply(h)), this.vP!.reshape([-1, 1]))),
            ); // [B, Ddec] -> [B, A] x [A, 1] -> [B, 1]
      const inWindow = localWindowMask(p as tf.Tensor2D, state.lens, srcLen, c.window).squeeze([1]); // [B, 1, S] -> [B, S], 0/1, truncated at the edges and at L
      const bias = tf.mul(tf.sub(1, inWindow), PAD_SCORE); // [B, S]: 0 inside, -1e9 outside
      const align = tf.softmax(tf.add(scores, bias)); // [B, S], exactly 0 outside the window
      if (c.attention === 'local-p') {
        // eq. 10: favour positions near p_t, sigma = Dw / 2; not renormalised
        const sigma = c.window / 2;
        const offsets = tf.sub(tf.range(0, srcLen).reshape([1, srcLen]), p); // [1, S] - [B, 1] -> [B, S]
        const gaussian = tf.exp(tf.div(tf.square(offsets), -2 * sigma * sigma));
        weights = tf.mul(align, gaussian) as tf.Tensor2D;
      } else {
        weights = align as tf.Tensor2D;
      }
      position = p.reshape([-1]) as tf.Tensor1D; // [B, 1] -> [B]
    }
    // 3) c_t = sum_s a_t(s) hbar_s; h~_t = tanh(W_c [c_t ; h_t])
    const context = tf.matMul(weights.expandDims(1), state.memory).squeeze([1]); // [B, 1, S] x [B, S, 2 Denc] -> [B, 2 Denc]
    const attentional = tf.tanh(this.combine.apply(tf.concat([context, h], 1))) as tf.Tensor2D; // [B, 2 Denc + Ddec] -> [B, Ddec]
    return { h, attentional, weights, position };
  }

  private checkStep(prev: unknown, state: unknown): void {
    checkIds(prev, 'prev', this.config.tgtVocab, ['B']);
    if (typeof state !== 'object' || state === null) {
      throw new TypeError(
        `state: expected { h, feed, memory, keys, padBias, lens, t }, got ${String(state)}`,
      );
    }
    const st = state as Partial<LuongState>;
    const batch = (prev as tf.Tensor).shape[0];
    const c = this.config;
    checkShape(st.h, [batch, c.decoderHidden], 'state.h');
    checkShape(st.feed, [batch, c.decoderHidden], 'state.feed');
    checkShape(st.memory, [batch, 'S', 2 * c.encoderHidden], 'state.memory');
    const srcLen = st.memory!.shape[1];
    const keyWidth = c.score === 'concat' ? c.attentionHidden : 2 * c.encoderHidden;
    checkShape(st.keys, [batch, srcLen, keyWidth], 'state.keys');
    assertTensor(st.padBias, 'state.padBias');
    checkShape(st.padBias, [batch, srcLen], 'state.padBias');
    checkDtype(st.padBias, 'float32', 'state.padBias');
    checkShape(st.lens, [batch, 1], 'state.lens');
    checkDtype(st.lens!, 'float32', 'state.lens');
    checkShape(st.t, [batch], 'state.t');
    checkDtype(st.t!, 'float32', 'state.t');
  }
}
