/**
 * The position-wise feed-forward block of the Transformer (Vaswani et al., 2017, Section 3.3),
 * applied to every position on its own with the same weights:
 *
 * `FFN(x) = act(x W1 + b1) W2 + b2`,  `W1: [D, Dff]`, `W2: [Dff, D]`,
 *
 * with `act` ReLU (the paper) or GELU (BERT, GPT-2), and dropout on the hidden activations in
 * training mode, in the same place as PyTorch's `nn.TransformerEncoderLayer`:
 * `linear2(dropout(act(linear1(x))))`. The weight names (`linear1.weight`, ...) match that layer's.
 */
import * as tf from '@tensorflow/tfjs';
import { Dropout } from './dropout';
import { Linear } from './linear';
import { Module } from './module';
import { deriveSeed } from './random';
import {
  assertTensor,
  checkDtype,
  checkFinite,
  checkInt,
  checkShape,
  withInputsChecked,
} from './shapes';

/** Activation functions the feed-forward block offers. */
export type FeedForwardActivation = 'relu' | 'gelu';

/** Configuration of a `FeedForward` block. */
export interface FeedForwardConfig {
  /** Model width `D` (input and output). */
  dModel: number;
  /** Hidden width `Dff`; the paper uses `4 * dModel` (2048 for `D` = 512). */
  dHidden: number;
  /** Activation between the two layers. Defaults to `'relu'`, the paper's choice. */
  activation?: FeedForwardActivation;
  /**
   * Dropout rate on the hidden activations, in `[0, 1)`. Defaults to `0`: the course's small
   * models train for seconds to minutes and underfit long before they overfit.
   */
  dropout?: number;
  /** Seed of the initial weights and of the dropout masks. Defaults to `0`. */
  seed?: number;
}

/**
 * GELU, exact form (PyTorch's default `nn.GELU()`): `x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))`,
 * with `Phi` the standard normal CDF.
 * @param x any shape, float32
 * @returns the same shape
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  assertTensor(x, 'x');
  checkDtype(x, 'float32', 'x');
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

/** `Linear(D, Dff) -> activation -> Dropout -> Linear(Dff, D)`, over the last axis. */
export class FeedForward extends Module {
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly dModel: number;
  readonly dHidden: number;
  readonly activation: FeedForwardActivation;

  constructor(config: FeedForwardConfig) {
    super();
    if (typeof config !== 'object' || config === null) {
      throw new TypeError(
        `config: expected an object { dModel, dHidden, activation?, dropout?, seed? }, got ${String(config)}`,
      );
    }
    this.dModel = checkInt(config.dModel, 'dModel');
    this.dHidden = checkInt(config.dHidden, 'dHidden');
    const activation = config.activation ?? 'relu';
    if (activation !== 'relu' && activation !== 'gelu') {
      throw new RangeError(`activation: expected 'relu' or 'gelu', got ${String(activation)}`);
    }
    this.activation = activation;
    const seed = checkInt(config.seed ?? 0, 'seed', 0, 2 ** 32 - 1);
    this.linear1 = new Linear({
      inFeatures: this.dModel,
      outFeatures: this.dHidden,
      seed: deriveSeed(seed, 'linear1'),
    });
    const rate = config.dropout ?? 0;
    if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
      throw new RangeError(`dropout: expected a rate in [0, 1), got ${String(rate)}`);
    }
    this.dropout = new Dropout({ rate, seed: deriveSeed(seed, 'dropout') });
    this.linear2 = new Linear({
      inFeatures: this.dHidden,
      outFeatures: this.dModel,
      seed: deriveSeed(seed, 'linear2'),
    });
  }

  /**
   * Applies the block to every position.
   * @param x `[..., D]`, float32 (usually `[B, T, D]`)
   * @returns `[..., D]`
   */
  apply(x: tf.Tensor): tf.Tensor {
    assertTensor(x, 'x');
    checkDtype(x, 'float32', 'x');
    checkShape(x, [...Array<null>(Math.max(0, x.rank - 1)).fill(null), 'D'], 'x', {
      dims: { D: { size: this.dModel, boundBy: 'dModel' } },
    });
    checkFinite(x, 'x');
    return withInputsChecked(() =>
      tf.tidy(() => {
        const hidden = this.linear1.apply(x); // [..., D] -> [..., Dff]
        const act = this.activation === 'relu' ? tf.relu(hidden) : gelu(hidden);
        return this.linear2.apply(this.dropout.apply(act)); // [..., Dff] -> [..., D]
      }),
    );
  }
}
