/**
 * Dropout (Srivastava et al., 2014), inverted as in PyTorch's `nn.Dropout(p)`: in training mode
 * each element is zeroed with probability `rate` and the survivors are scaled by `1 / (1 - rate)`,
 *
 * `y = x * m / (1 - rate)`,  `m ~ Bernoulli(1 - rate)` independently per element,
 *
 * so that `E[y] = x` and nothing needs rescaling at evaluation time, where `y = x`.
 */
import * as tf from '@tensorflow/tfjs';
import { Module } from './module';
import { createRng, type Rng } from './random';
import { assertTensor, checkDtype, checkInt } from './shapes';

/** Configuration of a `Dropout` layer. */
export interface DropoutConfig {
  /** Probability that an element is zeroed, in `[0, 1)`. `0` makes the layer the identity. */
  rate: number;
  /**
   * Seed of the mask sequence: two layers built with the same seed draw the same masks in the same
   * order, run after run. Defaults to `0`; give each dropout of a model its own seed (for example
   * with `deriveSeed(seed, 'ffn.dropout')`), or their masks would be identical.
   */
  seed?: number;
}

/** Randomly zeroes elements in training mode (scaling the rest); the identity after `eval()`. */
export class Dropout extends Module {
  readonly rate: number;
  readonly seed: number;
  /** Draws one tfjs seed per mask, so the k-th mask depends only on `seed` and `k`. */
  private readonly rng: Rng;

  constructor(config: DropoutConfig) {
    super();
    if (typeof config !== 'object' || config === null) {
      throw new TypeError(`config: expected an object { rate, seed? }, got ${String(config)}`);
    }
    const { rate } = config;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate >= 1) {
      throw new RangeError(`rate: expected a number in [0, 1), got ${String(rate)}`);
    }
    this.rate = rate;
    this.seed = checkInt(config.seed ?? 0, 'seed', 0, 2 ** 32 - 1);
    this.rng = createRng(this.seed);
  }

  /**
   * Applies dropout. In training mode (the default) draws the next mask of this layer's sequence;
   * in evaluation mode (`eval()`), or with `rate` 0, returns a copy of `x` and draws nothing.
   * The mask is made on the device without reading any tensor back, so the call can sit inside
   * the caller's `tf.tidy` or gradient function; the gradient is `mask / (1 - rate)`.
   * @param x `[...]`, float32, any shape
   * @returns the same shape as `x`
   */
  apply(x: tf.Tensor): tf.Tensor {
    assertTensor(x, 'x');
    checkDtype(x, 'float32', 'x');
    if (!this.training || this.rate === 0) return x.clone();
    const maskSeed = this.rng.int(0, 2 ** 31 - 1);
    return tf.tidy(() => {
      const u = tf.randomUniform(x.shape, 0, 1, 'float32', maskSeed); // same shape as x
      // keep with probability 1 - rate, and scale the kept elements by 1 / (1 - rate)
      const mask = tf.mul(tf.cast(tf.greaterEqual(u, this.rate), 'float32'), 1 / (1 - this.rate));
      return tf.mul(x, mask);
    });
  }
}
