/**
 * Exercise 02.1: masked softmax (chapter 02, "Attention scoring functions").
 *
 * Sequences in a batch have different lengths, so the shorter ones are padded. Padding must get
 * no attention: compute a softmax over the last axis in which key `s` of batch element `b` takes
 * part only when `s < validLens[b]`:
 *
 *   w[b, t, s] = exp(x[b, t, s]) / sum_{s' < L_b} exp(x[b, t, s'])   if s < L_b,   else 0
 *
 * Requirements:
 * - hidden positions get weight exactly 0;
 * - a row with `validLens[b] = 0` returns all zeros (not NaN);
 * - large scores (e.g. 1000) must not overflow.
 * Use tfjs ops (`tf.range`, `tf.less`, `tf.where`, `tf.softmax`, ...) inside `tf.tidy`.
 *
 * @param scores `[B, T, S]` float32
 * @param validLens `[B]` int32, each in `[0, S]`
 * @returns weights `[B, T, S]`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function maskedSoftmax(scores: tf.Tensor3D, validLens: tf.Tensor1D): tf.Tensor3D {
  void scores;
  void validLens;
  return notImplemented('maskedSoftmax', 'exercises/02-scoring-functions/masked-softmax.ts');
}
