/**
 * Exercise 07.3: attention rollout (chapter 07, "the Vision Transformer").
 *
 * Which input tokens does an output token depend on, through all the layers? Abnar & Zuidema
 * (2020) follow the attention through the stack:
 *
 *   per layer l:  A_l = mean over the heads of its attention weights          [B, T, T]
 *                 A_l = A_l + I            (the residual connection keeps each token itself)
 *                 A_l = A_l / (sum of each row)                               rows sum to 1
 *   rollout:      R = A_L ... A_2 A_1      (the first layer acts first, so it is on the RIGHT)
 *
 * Requirements:
 * - `attention` lists the layers in order, each `[B, H, T, T]` with rows summing to 1;
 * - the result `[B, T, T]`: every row sums to 1; identity attention in every layer gives the
 *   identity;
 * - no tensor is left behind besides the result.
 * Tips: `tf.mean(a, 1)` averages the heads; `tf.eye(T)` broadcasts over the batch;
 * `tf.sum(x, -1, true)` keeps the axis so the division broadcasts over each row;
 * `tf.matMul(A_l, R)` multiplies a new layer in from the left.
 *
 * @param attention one `[B, H, T, T]` tensor per layer, first layer first
 * @returns `[B, T, T]`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function attentionRollout(attention: tf.Tensor4D[]): tf.Tensor3D {
  void [attention, tf];
  return notImplemented('attentionRollout', 'exercises/07-vision-transformer/rollout.ts');
}
