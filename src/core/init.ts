/** Weight initialisers, all seeded. */
import * as tf from '@tensorflow/tfjs';
import { checkInt } from './shapes';

/**
 * Glorot (Xavier) uniform initialisation for a `[fanIn, fanOut]` matrix:
 * `W ~ U(-a, a)`, `a = sqrt(6 / (fanIn + fanOut))` (Glorot and Bengio, 2010). It keeps the
 * variance of activations roughly constant through a linear layer.
 */
export function glorotUniform(fanIn: number, fanOut: number, seed: number): tf.Tensor2D {
  checkInt(fanIn, 'fanIn');
  checkInt(fanOut, 'fanOut');
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return tf.randomUniform([fanIn, fanOut], -limit, limit, 'float32', seed);
}

/**
 * tfjs's normal sampler reads its seed as `seed ? seed : Math.random()`, so seed `0` would draw
 * different numbers on every run; it is replaced by this fixed non-zero seed.
 */
const NORMAL_SEED_FOR_ZERO = 0x5eed;

/** Normal initialisation `N(0, std^2)` of any shape (used for embeddings and learned positions). */
export function normalInit(shape: number[], std: number, seed: number): tf.Tensor {
  shape.forEach((d, i) => checkInt(d, `shape[${i}]`));
  return tf.randomNormal(shape, 0, std, 'float32', seed === 0 ? NORMAL_SEED_FOR_ZERO : seed);
}

/**
 * LeCun uniform initialisation `U(-a, a)`, `a = sqrt(3 / fanIn)`, which gives variance `1 / fanIn`.
 * Used for scoring vectors such as `v` in `v^T tanh(...)`, whose fan-in is the hidden width.
 */
export function lecunUniform(shape: number[], fanIn: number, seed: number): tf.Tensor {
  shape.forEach((d, i) => checkInt(d, `shape[${i}]`));
  checkInt(fanIn, 'fanIn');
  const limit = Math.sqrt(3 / fanIn);
  return tf.randomUniform(shape, -limit, limit, 'float32', seed);
}
