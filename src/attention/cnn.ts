/**
 * Attention inside convolutional networks: gates that rescale feature maps `[B, Hi, Wi, C]`.
 *
 * - Spatial attention decides *where* to look: one weight in (0, 1) per pixel, shared by every
 *   channel (the spatial module of CBAM, Woo et al., 2018).
 * - Channel attention decides *which features* to look at: one weight in (0, 1) per channel, shared
 *   by every pixel (squeeze-and-excitation, Hu et al., 2018).
 *
 * Both are given as pure functions with explicit weights (so a hand-computed example or a hand-set
 * gate is one call) and as small `Module`s with seeded, trainable weights.
 */
import * as tf from '@tensorflow/tfjs';
import { lecunUniform } from '../core/init';
import { Linear } from '../core/linear';
import { Module, parameter } from '../core/module';
import { deriveSeed } from '../core/random';
import {
  checkFinite,
  checkInt,
  checkShape,
  checkDtype,
  withInputsChecked,
  type BoundDims,
} from '../core/shapes';

/** Checks feature maps `[B, Hi, Wi, C]` (float32, finite) and returns the bound letters. */
function checkFeatures(features: unknown): BoundDims {
  const dims = checkShape(features, ['B', 'Hi', 'Wi', 'C'], 'features');
  checkDtype(features as tf.Tensor, 'float32', 'features');
  checkFinite(features as tf.Tensor, 'features');
  return dims;
}

/**
 * Pools feature maps across channels: the mean and the maximum over `C` at every pixel,
 * `P[b, h, w] = [mean_c F[b, h, w, c], max_c F[b, h, w, c]]` (CBAM's input to spatial attention).
 * @param features `[B, Hi, Wi, C]`
 * @returns `[B, Hi, Wi, 2]`: channel 0 the mean, channel 1 the max
 */
export function channelPool(features: tf.Tensor): tf.Tensor4D {
  checkFeatures(features);
  return tf.tidy(() => {
    const mean = tf.mean(features, -1, true); // [B, Hi, Wi, C] -> [B, Hi, Wi, 1]
    const max = tf.max(features, -1, true); // [B, Hi, Wi, C] -> [B, Hi, Wi, 1]
    return tf.concat([mean, max], -1) as tf.Tensor4D; // -> [B, Hi, Wi, 2]
  });
}

/** Weights of spatial attention. */
export interface SpatialAttentionWeights {
  /** `[k, k, 2, 1]` with `k` odd: a `k x k` filter over the (mean, max) channel-pooled maps. */
  kernel: tf.Tensor;
  /** `[1]`, added before the sigmoid. Defaults to no bias. */
  bias?: tf.Tensor;
}

/** What spatial attention returns. */
export interface SpatialAttentionResult {
  /** `[B, Hi, Wi, 1]`: the attention map, one weight in (0, 1) per pixel. */
  map: tf.Tensor4D;
  /** `[B, Hi, Wi, C]`: the features rescaled by the map, `F * M`. */
  output: tf.Tensor4D;
}

/**
 * Spatial attention (CBAM, Woo et al., 2018, Eq. 3):
 * `M = sigmoid(conv_k([mean_c F; max_c F]) + b)`, `output = F * M` (the map broadcast over channels).
 * The convolution uses "same" zero padding, so the map has the size of the image.
 * @param features `[B, Hi, Wi, C]`
 * @param weights `kernel [k, k, 2, 1]` (k odd), optional `bias [1]`
 * @returns `map [B, Hi, Wi, 1]` and `output [B, Hi, Wi, C]`
 */
export function spatialAttention(
  features: tf.Tensor,
  weights: SpatialAttentionWeights,
): SpatialAttentionResult {
  checkFeatures(features);
  if (weights === null || typeof weights !== 'object') {
    throw new TypeError('weights: expected { kernel: [k, k, 2, 1], bias?: [1] }');
  }
  const kdims = checkShape(weights.kernel, ['k', 'k', 2, 1], 'kernel');
  const k = kdims.k.size;
  if (k % 2 === 0) {
    throw new RangeError(
      `kernel: expected an odd size k in [k, k, 2, 1] (so the map is centred), got k = ${k}`,
    );
  }
  checkFinite(weights.kernel, 'kernel');
  if (weights.bias !== undefined) {
    checkShape(weights.bias, [1], 'bias');
    checkFinite(weights.bias, 'bias');
  }
  return withInputsChecked(() =>
    tf.tidy(() => {
      const pooled = channelPool(features); // [B, Hi, Wi, C] -> [B, Hi, Wi, 2]
      // [B, Hi, Wi, 2] * [k, k, 2, 1] -> [B, Hi, Wi, 1]
      let logits = tf.conv2d(pooled, weights.kernel as tf.Tensor4D, 1, 'same');
      if (weights.bias !== undefined) logits = tf.add(logits, weights.bias);
      const map = tf.sigmoid(logits) as tf.Tensor4D;
      const output = tf.mul(features, map) as tf.Tensor4D; // [B, Hi, Wi, C] * [B, Hi, Wi, 1]
      return { map, output };
    }),
  );
}

/** Weights of channel (squeeze-and-excitation) attention; `R` is the hidden (reduced) width. */
export interface ChannelAttentionWeights {
  /** `[C, R]`: squeeze `C` channel means into `R` numbers. */
  w1: tf.Tensor;
  /** `[R]`. Defaults to no bias. */
  b1?: tf.Tensor;
  /** `[R, C]`: back to one number per channel. */
  w2: tf.Tensor;
  /** `[C]`. Defaults to no bias. */
  b2?: tf.Tensor;
}

/** What channel attention returns. */
export interface ChannelAttentionResult {
  /** `[B, C]`: one weight in (0, 1) per channel and image. */
  weights: tf.Tensor2D;
  /** `[B, Hi, Wi, C]`: the features with each channel rescaled by its weight. */
  output: tf.Tensor4D;
}

/**
 * Channel attention, squeeze-and-excitation style (Hu et al., 2018, Eqs. 2-4):
 * squeeze `z_c = mean_{h, w} F[h, w, c]`, excite `s = sigmoid(W_2^T relu(W_1^T z + b_1) + b_2)`,
 * rescale `output[h, w, c] = s_c F[h, w, c]`. With `R < C` the two layers form a bottleneck
 * (reduction ratio `r = C / R`), which keeps the gate cheap.
 * @param features `[B, Hi, Wi, C]`
 * @param weights `w1 [C, R]`, `w2 [R, C]`, optional `b1 [R]`, `b2 [C]`
 * @returns `weights [B, C]` and `output [B, Hi, Wi, C]`
 */
export function channelAttention(
  features: tf.Tensor,
  weights: ChannelAttentionWeights,
): ChannelAttentionResult {
  const dims = checkFeatures(features);
  if (weights === null || typeof weights !== 'object') {
    throw new TypeError('weights: expected { w1: [C, R], b1?: [R], w2: [R, C], b2?: [C] }');
  }
  checkShape(weights.w1, ['C', 'R'], 'w1', { dims });
  checkShape(weights.w2, ['R', 'C'], 'w2', { dims });
  if (weights.b1 !== undefined) checkShape(weights.b1, ['R'], 'b1', { dims });
  if (weights.b2 !== undefined) checkShape(weights.b2, ['C'], 'b2', { dims });
  for (const name of ['w1', 'b1', 'w2', 'b2'] as const) {
    const w = weights[name];
    if (w !== undefined) checkFinite(w, name);
  }
  const [batch, channels] = [dims.B.size, dims.C.size];
  return tf.tidy(() => {
    const z = tf.mean(features, [1, 2]); // squeeze: [B, Hi, Wi, C] -> [B, C]
    let h = tf.matMul(z, weights.w1); // [B, C] x [C, R] -> [B, R]
    if (weights.b1 !== undefined) h = tf.add(h, weights.b1);
    h = tf.relu(h);
    let s = tf.matMul(h, weights.w2); // [B, R] x [R, C] -> [B, C]
    if (weights.b2 !== undefined) s = tf.add(s, weights.b2);
    const gate = tf.sigmoid(s) as tf.Tensor2D; // excite: [B, C]
    const output = tf.mul(features, gate.reshape([batch, 1, 1, channels])) as tf.Tensor4D; // [B, Hi, Wi, C] * [B, 1, 1, C]
    return { weights: gate, output };
  });
}

/** Configuration of `SpatialAttention`. */
export interface SpatialAttentionConfig {
  /** Side `k` of the convolution, odd. Defaults to 7, as in CBAM. */
  kernelSize?: number;
  /** Seed of the initial kernel. Defaults to 0. */
  seed?: number;
}

/**
 * Spatial attention as a layer (see `spatialAttention`). Parameters: `kernel [k, k, 2, 1]`,
 * LeCun-uniform initialised (fan-in `2 k^2`), and `bias [1]`, initialised to 0.
 */
export class SpatialAttention extends Module {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly kernelSize: number;

  constructor(config: SpatialAttentionConfig = {}) {
    super();
    const { kernelSize = 7, seed = 0 } = config;
    this.kernelSize = checkInt(kernelSize, 'kernelSize');
    if (kernelSize % 2 === 0) {
      throw new RangeError(`kernelSize: expected an odd integer, got ${kernelSize}`);
    }
    const shape = [kernelSize, kernelSize, 2, 1];
    this.kernel = parameter(
      lecunUniform(shape, 2 * kernelSize * kernelSize, deriveSeed(seed, 'kernel')),
    );
    this.bias = parameter(tf.zeros([1]));
  }

  /** Replaces the weights, e.g. with a hand-designed kernel. */
  setWeights(kernel: tf.Tensor, bias?: tf.Tensor): void {
    const k = this.kernelSize;
    checkShape(kernel, [k, k, 2, 1], 'kernel');
    this.kernel.assign(kernel);
    if (bias !== undefined) {
      checkShape(bias, [1], 'bias');
      this.bias.assign(bias);
    }
  }

  /**
   * @param features `[B, Hi, Wi, C]`
   * @returns `map [B, Hi, Wi, 1]` and `output [B, Hi, Wi, C]`
   */
  apply(features: tf.Tensor): SpatialAttentionResult {
    return spatialAttention(features, { kernel: this.kernel, bias: this.bias });
  }
}

/** Configuration of `ChannelAttention`. */
export interface ChannelAttentionConfig {
  /** Number of channels `C` of the feature maps. */
  channels: number;
  /**
   * Reduction ratio `r`: the hidden width is `R = max(1, floor(C / r))`. Defaults to 2 (the paper
   * uses 16 for hundreds of channels; small toy networks need less reduction).
   */
  reduction?: number;
  /** Seed of the initial weights. Defaults to 0. */
  seed?: number;
}

/**
 * Squeeze-and-excitation channel attention as a layer (see `channelAttention`). Parameters:
 * `fc1` (`[C, R]` weight, `[R]` bias) and `fc2` (`[R, C]`, `[C]`), two `Linear` layers.
 */
export class ChannelAttention extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly channels: number;
  readonly hidden: number;

  constructor(config: ChannelAttentionConfig) {
    super();
    if (config === null || typeof config !== 'object') {
      throw new TypeError('ChannelAttention: expected a config { channels, reduction?, seed? }');
    }
    const { channels, reduction = 2, seed = 0 } = config;
    this.channels = checkInt(channels, 'channels');
    checkInt(reduction, 'reduction');
    this.hidden = Math.max(1, Math.floor(channels / reduction));
    this.fc1 = new Linear({
      inFeatures: channels,
      outFeatures: this.hidden,
      seed: deriveSeed(seed, 'fc1'),
    });
    this.fc2 = new Linear({
      inFeatures: this.hidden,
      outFeatures: channels,
      seed: deriveSeed(seed, 'fc2'),
    });
  }

  /**
   * @param features `[B, Hi, Wi, C]`
   * @returns `weights [B, C]` and `output [B, Hi, Wi, C]`
   */
  apply(features: tf.Tensor): ChannelAttentionResult {
    return channelAttention(features, {
      w1: this.fc1.weight,
      b1: this.fc1.bias ?? undefined,
      w2: this.fc2.weight,
      b2: this.fc2.bias ?? undefined,
    });
  }
}
