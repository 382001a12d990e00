/**
 * The two training steps of `npm run bench -- train`, built only from the library's parts
 * (chapter 03's `BahdanauSeq2Seq`, LayerNorm, MultiHeadAttention, FeedForward,
 * maskedCrossEntropy, Adam), at the shapes of the training-engine issue:
 *
 * - seq2seq: batch 128, source length 24, target length 11, character embeddings 32,
 *   bidirectional GRU 64 per direction, decoder GRU 128, additive attention 64 (Bahdanau et al.,
 *   2014), Adam;
 * - mini-GPT: 2 pre-norm blocks, `D` 128, 4 heads, feed-forward 512, `T` 64, batch 16, Adam.
 *
 * The seq2seq row times the chapter's own model (`src/models/bahdanau.ts`); the mini-GPT is the
 * smallest faithful version for timing.
 */
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention } from '../../src/attention/multihead';
import { LearnedPositionalEmbedding } from '../../src/attention/positional';
import { Embedding } from '../../src/core/embedding';
import { FeedForward } from '../../src/core/feed-forward';
import { LayerNorm } from '../../src/core/layer-norm';
import { Module } from '../../src/core/module';
import { maskedCrossEntropy } from '../../src/train/losses';
import { BahdanauSeq2Seq } from '../../src/models/bahdanau';
import type { Seq2SeqBatch } from '../../src/data/batches';
import { Adam } from '../../src/train/optimizers';
import { makeDateData } from '../../src/data/dates';
import { seq2seqDataset } from '../../src/data/batches';
import { TransformerSeq2Seq } from '../../src/models/transformer';
import { TRANSFORMER_DATES_RECIPE, VIT_MNIST_RECIPE } from '../../src/models/recipes';
import { VisionTransformer } from '../../src/models/vit';
import { loadMnist } from '../../src/data/mnist';
import { crossEntropy } from '../../src/train/losses';

/** Shapes of the seq2seq row. */
export const SEQ2SEQ = { B: 128, S: 24, T: 11, V: 40, E: 32, enc: 64, dec: 128, attn: 64 };
/** Shapes of the mini-GPT row. */
export const MINI_GPT = { B: 16, T: 64, V: 65, D: 128, H: 4, layers: 2, ff: 512 };
/** Tiny versions of both rows, for checks that run many steps (memory over 1,000 steps). */
export const TINY_SEQ2SEQ: Seq2SeqShapes = {
  B: 4,
  S: 6,
  T: 4,
  V: 12,
  E: 8,
  enc: 8,
  dec: 16,
  attn: 8,
};
export const TINY_GPT: GptShapes = { B: 2, T: 8, V: 12, D: 16, H: 2, layers: 2, ff: 32 };
export type Seq2SeqShapes = typeof SEQ2SEQ;
export type GptShapes = typeof MINI_GPT;

/** A pre-norm Transformer block: `x + attn(ln(x))`, then `x + ffn(ln(x))`. */
class Block extends Module {
  readonly ln1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ln2: LayerNorm;
  readonly ffn: FeedForward;

  constructor(seed: number, shapes: GptShapes) {
    super();
    const { D, H, ff } = shapes;
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
  readonly tokens: Embedding;
  readonly positions: LearnedPositionalEmbedding;
  readonly blocks: Block[];
  readonly lnF: LayerNorm;

  constructor(shapes: GptShapes) {
    super();
    const { V, D, T, layers } = shapes;
    this.tokens = new Embedding({ vocabSize: V, dModel: D, seed: 11 });
    this.positions = new LearnedPositionalEmbedding({ maxLen: T, dModel: D, seed: 12 });
    this.blocks = Array.from({ length: layers }, (_, i) => new Block(20 + 10 * i, shapes));
    this.lnF = new LayerNorm({ dModel: D });
  }

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
export function seq2seqStep(shapes: Seq2SeqShapes = SEQ2SEQ): TrainStep {
  const { B, S, T, V, E, enc, dec, attn } = shapes;
  const model = new BahdanauSeq2Seq({
    srcVocab: V,
    tgtVocab: V,
    embedDim: E,
    encoderHidden: enc,
    decoderHidden: dec,
    attentionHidden: attn,
    seed: 1,
  });
  const batch: Seq2SeqBatch = {
    src: ints([B, S], V, 1) as tf.Tensor2D,
    srcLens: tf.randomUniform([B], S / 2, S + 1, 'int32', 2) as tf.Tensor1D,
    tgtIn: ints([B, T], V, 3) as tf.Tensor2D,
    tgtOut: ints([B, T], V, 4) as tf.Tensor2D,
    tgtLens: tf.randomUniform([B], T - 3, T + 1, 'int32', 5) as tf.Tensor1D,
  };
  return makeStep(`seq2seq step B=${B} S=${S} T=${T}`, B, model, Object.values(batch), () =>
    model.loss(batch),
  );
}

/** The mini-GPT training step: next-character prediction on random ids. */
export function miniGptStep(shapes: GptShapes = MINI_GPT): TrainStep {
  const { B, T, V, D, H, layers } = shapes;
  const model = new MiniGPT(shapes);
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

/**
 * Chapter 06's training step: `TRANSFORMER_DATES_RECIPE`'s model on one batch of its size of
 * real dates (seed 0), with Adam as in the other rows (the recipe's gradient clipping left out).
 */
export function transformerStep(): TrainStep {
  const r = TRANSFORMER_DATES_RECIPE;
  const dates = makeDateData({ seed: 0 });
  const data = seq2seqDataset(dates.train, {
    sourceVocab: dates.sourceVocab,
    targetVocab: dates.targetVocab,
  });
  const batch = data.batch(Array.from({ length: r.batchSize }, (_, i) => i));
  const model = new TransformerSeq2Seq({
    ...r.model,
    srcVocab: dates.sourceVocab.size,
    tgtVocab: dates.targetVocab.size,
    seed: 0,
  });
  const { dModel, numHeads, encoderLayers, decoderLayers } = r.model;
  return makeStep(
    `Transformer dates step ${encoderLayers}+${decoderLayers} layers D=${dModel} H=${numHeads} B=${r.batchSize}`,
    r.batchSize,
    model,
    Object.values(batch),
    () => model.loss(batch),
  );
}

/**
 * Chapter 07's training step: `VIT_MNIST_RECIPE`'s hybrid ViT (the convolutional stem, then the
 * Transformer) on its first batch of real MNIST digits, with Adam as in the other rows.
 */
export function hybridVitStep(): TrainStep {
  const r = VIT_MNIST_RECIPE;
  const data = loadMnist();
  const x = data.train.x.slice(0, r.batchSize); // [B, 28, 28, 1]
  const y = data.train.y.slice(0, r.batchSize); // [B]
  tf.dispose([data.train, data.valid, data.test].flatMap((split) => [split.x, split.y]));
  const model = new VisionTransformer({ ...r.hybridModel, seed: 0 });
  return makeStep(
    `hybrid ViT MNIST step conv stem + ${r.model.numLayers} layers D=${r.model.dModel} B=${r.batchSize}`,
    r.batchSize,
    model,
    [x, y],
    () => crossEntropy(model.apply(x), y),
  );
}
