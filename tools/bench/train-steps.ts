/**
 * The two training steps of `npm run bench -- train`, built only from the library's parts
 * (Embedding, GRU, AdditiveAttention, LayerNorm, MultiHeadAttention, FeedForward,
 * maskedCrossEntropy, Adam), at the shapes of the training-engine issue:
 *
 * - seq2seq: batch 128, source length 24, target length 11, character embeddings 32,
 *   bidirectional GRU 64 per direction, decoder GRU 128, additive attention 64 (Bahdanau et al.,
 *   2014), Adam;
 * - mini-GPT: 2 pre-norm blocks, `D` 128, 4 heads, feed-forward 512, `T` 64, batch 16, Adam.
 *
 * The models are the smallest faithful versions for timing; the chapters' models live in `src/`.
 */
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention } from '../../src/attention/multihead';
import { LearnedPositionalEmbedding } from '../../src/attention/positional';
import { AdditiveAttention, additiveScores } from '../../src/attention/scoring';
import { maskedSoftmax } from '../../src/attention/softmax';
import { Embedding } from '../../src/core/embedding';
import { FeedForward } from '../../src/core/feed-forward';
import { GRUCell } from '../../src/core/gru';
import { LayerNorm } from '../../src/core/layer-norm';
import { Linear } from '../../src/core/linear';
import { Module } from '../../src/core/module';
import { GRU } from '../../src/core/recurrent';
import { maskedCrossEntropy } from '../../src/train/losses';
import { Adam } from '../../src/train/optimizers';

/** Shapes of the seq2seq row. */
export const SEQ2SEQ = { B: 128, S: 24, T: 11, V: 40, E: 32, enc: 64, dec: 128, attn: 64 };
/** Shapes of the mini-GPT row. */
export const MINI_GPT = { B: 16, T: 64, V: 65, D: 128, H: 4, layers: 2, ff: 512 };

/** An encoder-decoder with additive attention (Bahdanau et al., 2014), trained by teacher forcing. */
class Seq2Seq extends Module {
  readonly srcEmbed = new Embedding({ vocabSize: SEQ2SEQ.V, dModel: SEQ2SEQ.E, seed: 1 });
  readonly tgtEmbed = new Embedding({ vocabSize: SEQ2SEQ.V, dModel: SEQ2SEQ.E, seed: 2 });
  readonly encoder = new GRU({
    inputSize: SEQ2SEQ.E,
    hiddenSize: SEQ2SEQ.enc,
    bidirectional: true,
    seed: 3,
  });
  readonly bridge = new Linear({ inFeatures: 2 * SEQ2SEQ.enc, outFeatures: SEQ2SEQ.dec, seed: 4 });
  readonly attention = new AdditiveAttention({
    queryDim: SEQ2SEQ.dec,
    keyDim: 2 * SEQ2SEQ.enc,
    hiddenDim: SEQ2SEQ.attn,
    seed: 5,
  });
  readonly decoder = new GRUCell({
    inputSize: SEQ2SEQ.E + 2 * SEQ2SEQ.enc,
    hiddenSize: SEQ2SEQ.dec,
    seed: 6,
  });
  readonly out = new Linear({
    inFeatures: SEQ2SEQ.dec + 2 * SEQ2SEQ.enc,
    outFeatures: SEQ2SEQ.V,
    seed: 7,
  });

  /**
   * @param src `[B, S]` int32, `srcLens [B]`, `tgtIn [B, T]` int32 (the shifted targets)
   * @returns logits `[B, T, V]`
   */
  logits(src: tf.Tensor, srcLens: tf.Tensor, tgtIn: tf.Tensor): tf.Tensor3D {
    const enc = this.encoder.apply(this.srcEmbed.apply(src), { validLens: srcLens }); // [B, S, 2E']
    let s = tf.tanh(this.bridge.apply(enc.final)); // [B, 2E'] -> [B, Dd]
    const keys = this.attention.wK.apply(enc.outputs); // [B, S, 2E'] -> [B, S, A], once
    const inputs = tf.unstack(this.tgtEmbed.apply(tgtIn), 1); // [B, T, E] -> T x [B, E]
    const outs: tf.Tensor[] = [];
    for (const y of inputs) {
      const q = this.attention.wQ.apply(s).expandDims(1); // [B, Dd] -> [B, 1, A]
      const scores = additiveScores(q, keys, this.attention.v); // [B, 1, S]
      const w = maskedSoftmax(scores, { validLens: srcLens }); // [B, 1, S]
      const context = tf.matMul(w, enc.outputs).squeeze([1]); // [B, 1, S] x [B, S, 2E'] -> [B, 2E']
      s = this.decoder.step(tf.concat([y, context], 1), s); // [B, E + 2E'] -> [B, Dd]
      outs.push(tf.concat([s, context], 1)); // [B, Dd + 2E']
    }
    return this.out.apply(tf.stack(outs, 1)) as tf.Tensor3D; // [B, T, Dd + 2E'] -> [B, T, V]
  }
}

/** A pre-norm Transformer block: `x + attn(ln(x))`, then `x + ffn(ln(x))`. */
class Block extends Module {
  readonly ln1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ln2: LayerNorm;
  readonly ffn: FeedForward;

  constructor(seed: number) {
    super();
    const { D, H, ff } = MINI_GPT;
    this.ln1 = new LayerNorm({ dModel: D });
    this.attn = new MultiHeadAttention({ dModel: D, numHeads: H, seed });
    this.ln2 = new LayerNorm({ dModel: D });
    this.ffn = new FeedForward({ dModel: D, dHidden: ff, activation: 'gelu', seed: seed + 1 });
  }

  apply(x: tf.Tensor): tf.Tensor {
    const h = this.ln1.apply(x);
    const a = this.attn.apply(h, h, h, { causal: true }).output; // [B, T, D]
    const x1 = tf.add(x, a);
    return tf.add(x1, this.ffn.apply(this.ln2.apply(x1))); // [B, T, D]
  }
}

/** A character-level GPT: tied token embedding, learned positions, pre-norm blocks. */
class MiniGPT extends Module {
  readonly tokens = new Embedding({ vocabSize: MINI_GPT.V, dModel: MINI_GPT.D, seed: 11 });
  readonly positions = new LearnedPositionalEmbedding({
    maxLen: MINI_GPT.T,
    dModel: MINI_GPT.D,
    seed: 12,
  });
  readonly blocks = Array.from({ length: MINI_GPT.layers }, (_, i) => new Block(20 + 10 * i));
  readonly lnF = new LayerNorm({ dModel: MINI_GPT.D });

  /** @param ids `[B, T]` int32 @returns logits `[B, T, V]` (output projection tied: `h E^T`) */
  logits(ids: tf.Tensor): tf.Tensor3D {
    let x: tf.Tensor = this.positions.apply(this.tokens.apply(ids)); // [B, T, D]
    for (const block of this.blocks) x = block.apply(x);
    return this.tokens.project(this.lnF.apply(x)) as tf.Tensor3D; // [B, T, D] -> [B, T, V]
  }
}

/** A training step ready to time: `run()` does forward, backward and the Adam update. */
export interface TrainStep {
  name: string;
  /** Examples per step. */
  batch: number;
  /** Trainable scalars. */
  parameters: number;
  /** One full step; returns the loss tensor (the caller reads or disposes it). */
  run: () => tf.Scalar;
  /** The forward pass and loss only, for the profile's forward/backward split. */
  forward: () => tf.Scalar;
  dispose: () => void;
}

function ints(shape: number[], max: number, seed: number): tf.Tensor {
  return tf.randomUniform(shape, 0, max, 'int32', seed);
}

function makeStep(
  name: string,
  batch: number,
  model: Module,
  data: tf.Tensor[],
  loss: () => tf.Scalar,
): TrainStep {
  const optimizer = new Adam(model.variables(), { lr: 1e-3 });
  return {
    name,
    batch,
    parameters: model.numParameters(),
    forward: () => tf.tidy(loss),
    run: () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss, model.variables());
        optimizer.applyGradients(grads);
        return value;
      }),
    dispose: () => {
      optimizer.dispose();
      model.dispose();
      tf.dispose(data);
    },
  };
}

/** The seq2seq training step on random character data with varied source and target lengths. */
export function seq2seqStep(): TrainStep {
  const { B, S, T, V } = SEQ2SEQ;
  const model = new Seq2Seq();
  const src = ints([B, S], V, 1);
  const srcLens = tf.randomUniform([B], S / 2, S + 1, 'int32', 2);
  const tgtIn = ints([B, T], V, 3);
  const tgtOut = ints([B, T], V, 4);
  const tgtLens = tf.randomUniform([B], T - 3, T + 1, 'int32', 5);
  const loss = (): tf.Scalar =>
    maskedCrossEntropy(model.logits(src, srcLens, tgtIn), tgtOut, { validLens: tgtLens });
  return makeStep(
    `seq2seq step B=${B} S=${S} T=${T}`,
    B,
    model,
    [src, srcLens, tgtIn, tgtOut, tgtLens],
    loss,
  );
}

/** The mini-GPT training step: next-character prediction on random ids. */
export function miniGptStep(): TrainStep {
  const { B, T, V, D, H, layers } = MINI_GPT;
  const model = new MiniGPT();
  const ids = ints([B, T + 1], V, 6);
  const input = ids.slice([0, 0], [B, T]);
  const target = ids.slice([0, 1], [B, T]);
  const loss = (): tf.Scalar => maskedCrossEntropy(model.logits(input), target);
  return makeStep(
    `mini-GPT step ${layers} layers D=${D} H=${H} T=${T} B=${B}`,
    B,
    model,
    [ids, input, target],
    loss,
  );
}
