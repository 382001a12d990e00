/**
 * The tiny model of the checkpoint tests and fixtures: two Linear layers and a frozen int32
 * counter, so a checkpoint holds F32 and I32 tensors, nested names and a bias-free layer.
 */
import * as tf from '@tensorflow/tfjs';
import { Linear } from '../../src/core/linear';
import { Module } from '../../src/core/module';

/** `y = tanh(x W1 + b1) W2`, with `x: [B, 3]` and `y: [B, 2]`; `counts` is frozen bookkeeping. */
export class CheckpointNet extends Module {
  readonly hidden: Linear;
  readonly out: Linear;
  readonly counts: tf.Variable;

  constructor(seed: number) {
    super();
    this.hidden = new Linear({ inFeatures: 3, outFeatures: 4, seed });
    this.out = new Linear({ inFeatures: 4, outFeatures: 2, bias: false, seed: seed + 1 });
    this.counts = tf.tidy(() => tf.variable(tf.tensor1d([seed, 2 * seed, -7], 'int32'), false));
    // A non-zero bias, so a round trip that dropped it would be seen.
    tf.tidy(() => this.hidden.bias!.assign(tf.linspace(-0.5, 0.25, 4)));
  }

  /** @param x `[B, 3]` @returns `[B, 2]` */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.out.apply(tf.tanh(this.hidden.apply(x))));
  }
}

/** The seed and info of the committed `test/fixtures/checkpoint/tiny.safetensors`. */
export const TINY_CHECKPOINT = {
  seed: 3,
  info: {
    config: { inFeatures: 3, hidden: 4, outFeatures: 2 },
    seed: 3,
    metrics: { loss: 0.25, accuracy: 0.875 },
    step: 120,
    notes: 'written by test/fixtures/checkpoint/write-checkpoint.ts',
  },
};
