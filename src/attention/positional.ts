/**
 * Positional encodings. Attention is permutation-invariant over keys, so order must be added to
 * the inputs: either fixed sinusoids (Vaswani et al., 2017, Section 3.5) or a learned table.
 */
import * as tf from '@tensorflow/tfjs';
import { normalInit } from '../core/init';
import { Module, parameter } from '../core/module';
import { checkFinite, checkInt, checkShape, dimOf } from '../core/shapes';

/**
 * Sinusoidal encodings `P[pos, 2i] = sin(pos / 10000^(2i/D))`, `P[pos, 2i+1] = cos(pos / 10000^(2i/D))`.
 * Computed in double precision, then stored as float32: `sin` of large float32 angles loses digits.
 * @param maxLen number of positions `L`
 * @param dModel width `D` (even)
 * @returns `[L, D]`
 */
export function sinusoidalEncoding(maxLen: number, dModel: number): tf.Tensor2D {
  checkInt(maxLen, 'maxLen');
  checkInt(dModel, 'dModel', 2);
  if (dModel % 2 !== 0) throw new RangeError(`dModel: expected an even width, got ${dModel}`);
  const values = new Float32Array(maxLen * dModel);
  for (let pos = 0; pos < maxLen; pos++) {
    for (let i = 0; i < dModel; i += 2) {
      const angle = pos / Math.pow(10000, i / dModel);
      values[pos * dModel + i] = Math.sin(angle);
      values[pos * dModel + i + 1] = Math.cos(angle);
    }
  }
  return tf.tensor2d(values, [maxLen, dModel]);
}

/**
 * Adds the first `T` rows of a positional table to a batch of embeddings.
 * @param x `[B, T, D]`
 * @param encoding `[L, D]` with `L >= T`
 * @returns `[B, T, D]`
 */
export function addPositionalEncoding(x: tf.Tensor, encoding: tf.Tensor): tf.Tensor3D {
  const dims = checkShape(x, ['B', 'T', 'D'], 'x');
  checkShape(encoding, ['L', 'D'], 'encoding', { dims });
  checkFinite(x, 'x');
  const len = dims.T.size;
  if (len > dimOf(encoding, 0)) {
    throw new RangeError(
      `x: expected a sequence of at most L = ${dimOf(encoding, 0)} positions, got T = ${len}`,
    );
  }
  return tf.tidy(() => tf.add(x, encoding.slice([0, 0], [len, dims.D.size])) as tf.Tensor3D); // [B, T, D] + [T, D]
}

/** Configuration of a learned positional table. */
export interface LearnedPositionalEmbeddingConfig {
  /** Longest sequence `L`. */
  maxLen: number;
  /** Width `D`. */
  dModel: number;
  /** Standard deviation of the initial table. Defaults to 0.02 (small, so positions do not drown the tokens). */
  initStd?: number;
  /** Seed. Defaults to 0. */
  seed?: number;
}

/** A learned positional table `[L, D]` (as in BERT and ViT), added to the inputs. */
export class LearnedPositionalEmbedding extends Module {
  readonly table: tf.Variable;

  constructor(readonly config: LearnedPositionalEmbeddingConfig) {
    super();
    checkInt(config.maxLen, 'maxLen');
    checkInt(config.dModel, 'dModel');
    this.table = parameter(
      normalInit([config.maxLen, config.dModel], config.initStd ?? 0.02, config.seed ?? 0),
    );
  }

  /**
   * @param x `[B, T, D]`
   * @returns `x + table[:T]`, `[B, T, D]`
   */
  apply(x: tf.Tensor): tf.Tensor3D {
    return addPositionalEncoding(x, this.table);
  }
}
