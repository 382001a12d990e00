/** A fully connected (affine) layer, `y = x W + b`. */
import * as tf from '@tensorflow/tfjs';
import { glorotUniform } from './init';
import { Module, parameter } from './module';
import { op } from './op';
import { assertTensor, checkDtype, checkFinite, checkInt, checkShape } from './shapes';

/** Configuration of a `Linear` layer. */
export interface LinearConfig {
  /** Input width. */
  inFeatures: number;
  /** Output width. */
  outFeatures: number;
  /** Add a bias `b`. Defaults to `true`. */
  bias?: boolean;
  /** Seed of the Glorot-uniform initial weights. Defaults to `0`. */
  seed?: number;
}

/**
 * `y = x W + b` with `W: [inFeatures, outFeatures]` (note: PyTorch stores the transpose).
 *
 * Inputs of any rank are flattened to 2-D before the product: one plain `[M, K] x [K, N]` matMul is
 * 8-10x faster on the WASM backend than a batched one with a broadcast weight, forward and backward.
 */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(config: LinearConfig) {
    super();
    this.inFeatures = checkInt(config.inFeatures, 'inFeatures');
    this.outFeatures = checkInt(config.outFeatures, 'outFeatures');
    const seed = config.seed ?? 0;
    this.weight = parameter(glorotUniform(this.inFeatures, this.outFeatures, seed));
    this.bias = config.bias === false ? null : parameter(tf.zeros([this.outFeatures]));
  }

  /**
   * Throws unless `weight` (and `bias`, if given) could be loaded by `setWeights`: the right
   * shapes and only finite values. `weightName` and `biasName` are the names the caller used.
   */
  checkWeights(weight: unknown, bias?: unknown, weightName = 'weight', biasName = 'bias'): void {
    checkShape(weight, [this.inFeatures, this.outFeatures], weightName);
    checkDtype(weight as tf.Tensor, 'float32', weightName);
    checkFinite(weight as tf.Tensor, weightName);
    if (bias !== undefined) {
      if (this.bias === null)
        throw new Error(`${biasName}: this Linear layer was built with bias: false`);
      checkShape(bias, [this.outFeatures], biasName);
      checkDtype(bias as tf.Tensor, 'float32', biasName);
      checkFinite(bias as tf.Tensor, biasName);
    }
  }

  /**
   * Replaces the weights (e.g. with weights exported from PyTorch, transposed to `[in, out]`).
   * Rejects wrong shapes and NaN or infinite values before loading anything.
   * @param weight `[inFeatures, outFeatures]`
   * @param bias `[outFeatures]`; only for a layer built with a bias
   */
  setWeights(weight: tf.Tensor, bias?: tf.Tensor): void {
    op(
      'Linear.setWeights',
      () => this.checkWeights(weight, bias),
      () => {
        this.weight.assign(weight);
        if (bias !== undefined) this.bias!.assign(bias);
      },
    );
  }

  /**
   * Applies the layer to the last axis.
   * @param x `[..., inFeatures]`
   * @returns `[..., outFeatures]`
   */
  apply(x: tf.Tensor): tf.Tensor {
    return op(
      'Linear.apply',
      () => (checkFeatures(x, this.inFeatures, 'x'), checkFinite(x, 'x')),
      () => {
        const lead = x.shape.slice(0, -1);
        const flat = x.reshape([-1, this.inFeatures]); // [..., in] -> [M, in]
        let y = tf.matMul(flat, this.weight); // [M, in] x [in, out] -> [M, out]
        if (this.bias) y = tf.add(y, this.bias);
        return y.reshape([...lead, this.outFeatures]); // [M, out] -> [..., out]
      },
    );
  }
}

/** Checks that `x` is a tensor `[..., features]` (any rank >= 1). */
function checkFeatures(x: unknown, features: number, name: string): void {
  assertTensor(x, name);
  checkShape(x, [...Array<null>(Math.max(0, x.rank - 1)).fill(null), features], name);
}
