/**
 * What the RNN encoder-decoders of chapters 03 and 04 share: the batch they train on, a
 * bidirectional GRU encoder over padded character sequences, and the checks of their inputs.
 *
 * The encoder (Bahdanau et al., 2014, section 3.2) reads the source both ways and annotates each
 * position with both directions' states:
 *
 * ```text
 * x_j  = E_x[src_j]                                 embedding, [B, S, Demb]
 * h_j^> = GRU_fwd(x_j, h_{j-1}^>)                    left to right
 * h_j^< = GRU_bwd(x_j, h_{j+1}^<)                    right to left, from each sequence's last real step
 * h_j  = [h_j^> ; h_j^<]                             annotation, [B, S, 2 Denc]
 * ```
 *
 * Shapes: `Demb` embedding width, `Denc` encoder width per direction, `Ddec` decoder width, `A`
 * attention width (see `src/core/shapes.ts` for the single letters).
 */
import * as tf from '@tensorflow/tfjs';
import { Embedding } from '../core/embedding';
import { Module } from '../core/module';
import { op } from '../core/op';
import { deriveSeed } from '../core/random';
import { GRU } from '../core/recurrent';
import { checkInt } from '../core/shapes';
import { checkConfigObject, checkSource } from './seq2seq-parts';

/** Configuration of a `BiGRUEncoder`. */
export interface BiGRUEncoderConfig {
  /** Source vocabulary size `V`. */
  vocabSize: number;
  /** Embedding width `Demb`. Defaults to `32`: dates use ~40 characters, 32 is plenty. */
  embedDim?: number;
  /** Width `Denc` of each direction. Defaults to `64` (annotations are `2 Denc = 128` wide). */
  hiddenSize?: number;
  /** Seed of the initial weights. Defaults to `0`. */
  seed?: number;
}

/** What `BiGRUEncoder.encode` returns. */
export interface EncoderOutput {
  /** `[B, S, 2 Denc]` the annotations `h_j = [h_j^> ; h_j^<]`, zero at padding. */
  outputs: tf.Tensor3D;
  /** `[B, 2 Denc]` the forward state after the last real step, then the backward state after step 0. */
  final: tf.Tensor2D;
  /** `[B, Denc]` `h_1^<`: the backward direction's state at the first position (Bahdanau's `s_0` input). */
  backwardFirst: tf.Tensor2D;
}

/** A bidirectional GRU encoder with its own character embedding (see the module comment). */
export class BiGRUEncoder extends Module {
  readonly embed: Embedding;
  readonly rnn: GRU;
  readonly vocabSize: number;
  readonly embedDim: number;
  readonly hiddenSize: number;

  constructor(config: BiGRUEncoderConfig) {
    super();
    checkConfigObject(config, 'BiGRUEncoder', '{ vocabSize, embedDim?, hiddenSize?, seed? }');
    this.vocabSize = checkInt(config.vocabSize, 'vocabSize');
    this.embedDim = checkInt(config.embedDim ?? 32, 'embedDim');
    this.hiddenSize = checkInt(config.hiddenSize ?? 64, 'hiddenSize');
    const seed = checkInt(config.seed ?? 0, 'seed', 0);
    this.embed = new Embedding({
      vocabSize: this.vocabSize,
      dModel: this.embedDim,
      seed: deriveSeed(seed, 'embed'),
    });
    this.rnn = new GRU({
      inputSize: this.embedDim,
      hiddenSize: this.hiddenSize,
      bidirectional: true,
      seed: deriveSeed(seed, 'rnn'),
    });
  }

  /** Width of the annotations, `2 Denc`. */
  get outputSize(): number {
    return 2 * this.hiddenSize;
  }

  /**
   * Encodes a padded batch of sources.
   * @param src `[B, S]` int32 ids in `[0, V)`
   * @param srcLens `[B]` int32 real lengths in `[1, S]`; defaults to `S` for every row
   */
  encode(src: tf.Tensor, srcLens?: tf.Tensor): EncoderOutput {
    return op(
      'BiGRUEncoder.encode',
      () => checkSource(src, srcLens, this.vocabSize),
      () => {
        const d = this.hiddenSize;
        const x = tf.gather(this.embed.weight, src); // [V, Demb] at [B, S] -> [B, S, Demb]
        const { outputs, final } = this.rnn.apply(x, { validLens: srcLens }); // [B, S, 2 Denc], [B, 2 Denc]
        const backwardFirst = final.slice([0, d], [-1, d]) as tf.Tensor2D; // [B, 2 Denc] -> [B, Denc]
        return { outputs, final, backwardFirst };
      },
    ) as unknown as EncoderOutput;
  }
}

/** Configuration of the chapter 03 encoder-decoders (`BahdanauSeq2Seq`, `BaselineSeq2Seq`). */
export interface Seq2SeqConfig {
  /** Source vocabulary size. */
  srcVocab: number;
  /** Target vocabulary size `V` (the output layer's width). */
  tgtVocab: number;
  /** Character embedding width `Demb`, source and target. Defaults to `32`. */
  embedDim?: number;
  /** Encoder GRU width per direction `Denc`. Defaults to `64` (annotations `2 Denc = 128`). */
  encoderHidden?: number;
  /**
   * Decoder GRU width `Ddec`. Defaults to `128`. The defaults are the bench's seq2seq row (issue
   * 16's sizes), chosen so that the attention model can reach 99% exact match on held-out dates
   * within a minute of CPU training; chapter 03's notebook measures it.
   */
  decoderHidden?: number;
  /** Hidden width `A` of the additive attention (attention model only). Defaults to `64`. */
  attentionHidden?: number;
  /** Beginning-of-sequence token fed at the first step (for `greedyDecode`). Optional. */
  bos?: number;
  /** End-of-sequence token (for `greedyDecode`). Optional. */
  eos?: number;
  /** Seed of the initial weights (each part derives its own). Defaults to `0`. */
  seed?: number;
}
