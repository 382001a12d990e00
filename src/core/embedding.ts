/**
 * Token embedding: a learned table `E: [V, D]` whose row `i` is the vector of token `i`.
 *
 * `embed(ids)[b, t] = E[ids[b, t]]`, a row lookup (`tf.gather`); its gradient adds the upstream
 * gradient into the rows that were looked up. The same table can serve as the output projection
 * (weight tying, Press and Wolf, 2017): `logits = h E^T`, which `project` computes.
 */
import * as tf from '@tensorflow/tfjs';
import { normalInit } from './init';
import { Module, parameter } from './module';
import {
  assertTensor,
  checkDtype,
  checkFinite,
  checkInt,
  checkPositive,
  checkShape,
  formatShape,
} from './shapes';

/** Configuration of an `Embedding`. */
export interface EmbeddingConfig {
  /** Vocabulary size `V`: ids run over `[0, V)`. */
  vocabSize: number;
  /** Width `D` of each vector. */
  dModel: number;
  /** Seed of the initial table. Defaults to `0`. */
  seed?: number;
  /**
   * Standard deviation of the normal initial table. Defaults to `1`, as PyTorch's
   * `nn.Embedding`; a table tied to an output projection is often started smaller (e.g. `0.02`,
   * GPT-2's), so that the first logits are small.
   */
  initStd?: number;
}

/**
 * A lookup table of token vectors, `[B, T]` int32 ids -> `[B, T, D]`.
 *
 * To tie the table to an output projection, either call `project(h)` (`h E^T`), or let another
 * module hold the same variable in a field (`readonly table = embedding.weight`): a `Module`
 * counts, trains, saves and disposes a shared variable once.
 */
export class Embedding extends Module {
  /** The table `E: [V, D]` (the same layout as PyTorch's `nn.Embedding.weight`). */
  readonly weight: tf.Variable;
  readonly vocabSize: number;
  readonly dModel: number;

  constructor(config: EmbeddingConfig) {
    super();
    this.vocabSize = checkInt(config.vocabSize, 'vocabSize');
    this.dModel = checkInt(config.dModel, 'dModel');
    const seed = checkInt(config.seed ?? 0, 'seed', 0);
    const initStd = checkPositive(config.initStd ?? 1, 'initStd');
    this.weight = parameter(normalInit([this.vocabSize, this.dModel], initStd, seed));
  }

  /**
   * Replaces the table (e.g. with PyTorch's `nn.Embedding.weight`, which has the same layout).
   * Rejects a wrong shape or dtype and NaN or infinite values before loading anything.
   * @param weight `[V, D]` float32
   */
  setWeights(weight: tf.Tensor): void {
    checkShape(weight, [this.vocabSize, this.dModel], 'weight');
    checkDtype(weight, 'float32', 'weight');
    checkFinite(weight, 'weight');
    this.weight.assign(weight);
  }

  /**
   * Looks up the vector of every id.
   * @param ids `[B, T]` int32, every entry in `[0, V)`
   * @returns `[B, T, D]`
   */
  apply(ids: tf.Tensor): tf.Tensor3D {
    checkShape(ids, ['B', 'T'], 'ids');
    checkDtype(ids, 'int32', 'ids');
    // Out-of-range ids would silently give zero rows on some backends: check them here, once.
    const values = ids.dataSync();
    for (let i = 0; i < values.length; i++) {
      const id = values[i];
      if (id < 0 || id >= this.vocabSize) {
        throw new RangeError(
          `ids: expected token ids in [0, V) = [0, ${this.vocabSize}), got ${id} at flat ` +
            `index ${i} of shape ${formatShape(ids.shape)}`,
        );
      }
    }
    const [batch, length] = ids.shape;
    return tf.tidy(() => {
      const rows = tf.gather(this.weight, ids.reshape([-1])); // [V, D] at [B*T] -> [B*T, D]
      return rows.reshape([batch, length, this.dModel]) as tf.Tensor3D; // [B*T, D] -> [B, T, D]
    });
  }

  /**
   * The tied output projection: scores of every token, `logits = h E^T`.
   * @param h `[..., D]`
   * @returns `[..., V]`
   */
  project(h: tf.Tensor): tf.Tensor {
    assertTensor(h, 'h');
    checkShape(h, [...Array<null>(Math.max(0, h.rank - 1)).fill(null), this.dModel], 'h');
    checkDtype(h, 'float32', 'h');
    checkFinite(h, 'h');
    return tf.tidy(() => {
      const lead = h.shape.slice(0, -1);
      const flat = h.reshape([-1, this.dModel]); // [..., D] -> [M, D]
      const logits = tf.matMul(flat, this.weight, false, true); // [M, D] x [D, V] -> [M, V]
      return logits.reshape([...lead, this.vocabSize]); // [M, V] -> [..., V]
    });
  }
}
