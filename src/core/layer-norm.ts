/**
 * Layer normalisation (Ba, Kiros and Hinton, 2016), as PyTorch's `nn.LayerNorm(dModel)`:
 *
 * `y = (x - mean(x)) / sqrt(var(x) + eps) * gamma + beta`,
 *
 * with the mean and the biased variance (divided by `D`, not `D - 1`) taken over the last axis
 * of each position on its own. Every token vector is rescaled to mean 0 and variance 1 and then
 * given a learned per-feature scale `gamma` (starts at 1) and shift `beta` (starts at 0).
 */
import * as tf from '@tensorflow/tfjs';
import { Module, parameter } from './module';
import {
  assertTensor,
  checkDtype,
  checkFinite,
  checkInt,
  checkPositive,
  checkShape,
} from './shapes';

/** Configuration of a `LayerNorm`. */
export interface LayerNormConfig {
  /** Width `D` of the last axis, which is normalised. */
  dModel: number;
  /**
   * Added to the variance before the square root, so a constant vector (variance 0) gives `beta`
   * instead of a division by zero. Defaults to `1e-5`, PyTorch's default.
   */
  eps?: number;
}

/** Normalises each vector over its last axis, then scales by `gamma` and shifts by `beta`. */
export class LayerNorm extends Module {
  /** Per-feature scale, `[D]`, initialised to ones. */
  readonly gamma: tf.Variable;
  /** Per-feature shift, `[D]`, initialised to zeros. */
  readonly beta: tf.Variable;
  readonly dModel: number;
  readonly eps: number;

  constructor(config: LayerNormConfig) {
    super();
    if (typeof config !== 'object' || config === null) {
      throw new TypeError(`config: expected an object { dModel, eps? }, got ${String(config)}`);
    }
    this.dModel = checkInt(config.dModel, 'dModel');
    this.eps = checkPositive(config.eps ?? 1e-5, 'eps');
    this.gamma = parameter(tf.ones([this.dModel]));
    this.beta = parameter(tf.zeros([this.dModel]));
  }

  /**
   * Normalises over the last axis.
   * @param x `[..., D]`, float32
   * @returns `[..., D]`
   */
  apply(x: tf.Tensor): tf.Tensor {
    assertTensor(x, 'x');
    checkDtype(x, 'float32', 'x');
    checkShape(x, [...Array<null>(Math.max(0, x.rank - 1)).fill(null), 'D'], 'x', {
      dims: { D: { size: this.dModel, boundBy: 'dModel' } },
    });
    checkFinite(x, 'x');
    return tf.tidy(() => layerNorm(x, this.gamma, this.beta, this.eps));
  }
}

/**
 * `(x - mean) / sqrt(var + eps) * gamma + beta` over the last axis, with a hand-written backward
 * pass: autodiff of the forward ops makes ~25 kernels per call, the closed form below 11
 * (`dx = r (dn - mean(dn) - n mean(dn n))` with `n` the normalised input, `r = 1/sqrt(var + eps)`,
 * `dn = dy gamma`). Values equal the plain ops; gradients equal them up to float32 rounding
 * (checked against PyTorch in `test/core/layer-norm.test.ts`).
 */
function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const axis = x.rank - 1;
  const lead = [...Array(axis).keys()]; // every axis but the last
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const mean = tf.mean(input, axis, true); // [..., D] -> [..., 1]
    const centred = tf.sub(input, mean); // [..., D]
    // biased variance, from the centred values (one pass over x^2 loses digits for large means)
    const variance = tf.mean(tf.square(centred), axis, true); // [..., 1]
    const rstd = tf.rsqrt(tf.add(variance, eps)); // [..., 1]
    const normed = tf.mul(centred, rstd); // [..., D]
    save([normed, rstd, g]);
    return {
      value: tf.add(tf.mul(normed, g), b), // [..., D] * [D] + [D]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [n, r, gain] = saved;
        const dn = tf.mul(dy, gain); // [..., D]
        const meanDn = tf.mean(dn, axis, true); // [..., 1]
        const meanDnN = tf.mean(tf.mul(dn, n), axis, true); // [..., 1]
        const dx = tf.mul(r, tf.sub(tf.sub(dn, meanDn), tf.mul(n, meanDnN))); // [..., D]
        const dGamma = lead.length === 0 ? tf.mul(dy, n) : tf.sum(tf.mul(dy, n), lead); // [D]
        const dBeta = lead.length === 0 ? dy.clone() : tf.sum(dy, lead); // [D]
        return [dx, dGamma, dBeta];
      },
    };
  });
  return f(x, gamma, beta);
}
