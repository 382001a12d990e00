/**
 * Exercise 03.1: one step of a gated recurrent unit (chapter 03, "Bahdanau attention").
 *
 * The encoder and the decoder of chapter 03 are GRUs (Cho et al., 2014). Write one step with
 * PyTorch's gate equations (those of `nn.GRUCell`), for a batch of inputs x `[B, I]` and states
 * h `[B, D]`:
 *
 *   r  = sigmoid(x W_xr + b_xr + h W_hr + b_hr)        reset gate
 *   z  = sigmoid(x W_xz + b_xz + h W_hz + b_hz)        update gate
 *   n  = tanh(x W_xn + b_xn + r * (h W_hn + b_hn))     candidate state
 *   h' = (1 - z) * n + z * h                           new state
 *
 * The weights are fused, the three gates side by side in the order r | z | n: `wX [I, 3D]`,
 * `wH [D, 3D]`, `bX [3D]`, `bH [3D]` (so `W_xr` is columns 0..D-1 of wX, `W_xz` columns D..2D-1,
 * `W_xn` columns 2D..3D-1). Two details decide whether you match PyTorch:
 * - the reset gate multiplies `h W_hn + b_hn`, bias included, AFTER the product with W_hn (the
 *   paper writes `W_hn (r * h)`: a different number);
 * - z close to 1 KEEPS the old state (h' = z h + (1 - z) n, not the other way round).
 *
 * Requirements: the result has shape `[B, D]`; no tensor is left behind (wrap the work in
 * `tf.tidy`). Tips: `tf.matMul(x, wX)` is `[B, I] x [I, 3D] -> [B, 3D]`; `tf.split(t, 3, -1)`
 * cuts the last axis into three equal parts; `tf.sigmoid`, `tf.tanh`, `tf.add`, `tf.mul`, `tf.sub`.
 *
 * @param x `[B, I]` the inputs of this step
 * @param h `[B, D]` the previous states
 * @param wX `[I, 3D]` input weights, gates r | z | n
 * @param wH `[D, 3D]` recurrent weights, gates r | z | n
 * @param bX `[3D]` input biases
 * @param bH `[3D]` recurrent biases
 * @returns the new states h' `[B, D]`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function gruStep(
  x: tf.Tensor2D,
  h: tf.Tensor2D,
  wX: tf.Tensor2D,
  wH: tf.Tensor2D,
  bX: tf.Tensor1D,
  bH: tf.Tensor1D,
): tf.Tensor2D {
  void [x, h, wX, wH, bX, bH];
  return notImplemented('gruStep', 'exercises/03-bahdanau-attention/gru-step.ts');
}
