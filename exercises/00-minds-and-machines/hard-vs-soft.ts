/**
 * Exercise 00.3: hard and soft selection (chapter 00, "Attention in minds and machines").
 *
 * Each of B queries has scored S items (`scores [B, S]`), and each item carries a value vector
 * of width D (`values [B, S, D]`: row b has its own S values). Attention selects from the values
 * in one of two ways (Xu et al., 2015):
 *
 * - hard selection keeps exactly one item, the one with the highest score:
 *     w_b = onehot(argmax_s scores[b, s]),   output_b = values[b, argmax]
 *   (on a tie, the first of the tied items, which is what `tf.argMax` returns);
 * - soft selection keeps all of them, weighted by the softmax of the scores:
 *     w_b = softmax(scores_b),   output_b = sum_s w_bs values[b, s]
 *   It must be stable for large scores (e.g. 1000): `tf.softmax` is.
 *
 * Both return `{ weights, output }`: the weights `[B, S]` (one-hot for hard selection; rows sum
 * to 1) and the output `[B, D]`, float32.
 *
 * Useful tfjs ops, inside `tf.tidy`: `tf.argMax(x, -1)`, `tf.oneHot(indices, S)` (int32 result:
 * convert with `.toFloat()`), `tf.softmax`, and for the weighted sum either
 * `tf.matMul(w.reshape([B, 1, S]), values)` (`[B, 1, S] x [B, S, D] -> [B, 1, D]`) or
 * `tf.sum(tf.mul(w.expandDims(2), values), 1)`.
 *
 * @param scores `[B, S]` float32
 * @param values `[B, S, D]` float32
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function hardSelect(
  scores: tf.Tensor2D,
  values: tf.Tensor3D,
): { weights: tf.Tensor2D; output: tf.Tensor2D } {
  void scores;
  void values;
  return notImplemented('hardSelect', 'exercises/00-minds-and-machines/hard-vs-soft.ts');
}

export function softSelect(
  scores: tf.Tensor2D,
  values: tf.Tensor3D,
): { weights: tf.Tensor2D; output: tf.Tensor2D } {
  void scores;
  void values;
  return notImplemented('softSelect', 'exercises/00-minds-and-machines/hard-vs-soft.ts');
}
