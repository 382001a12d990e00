/**
 * Exercise 01.2: Nadaraya-Watson attention pooling with a Gaussian kernel (chapter 01).
 *
 * Each query `x_q` attends to every key `x_k` (the training inputs) with a weight given by a
 * Gaussian kernel of their distance, scaled by the width `h` and normalised over the keys:
 *
 *   a[q, k] = exp(-((x_q - x_k) / h)^2 / 2) / sum_j exp(-((x_q - x_j) / h)^2 / 2)
 *           = softmax_k( -((x_q - x_k) / h)^2 / 2 )
 *
 * and the prediction is the weighted average of the values (the training targets):
 *
 *   f(x_q) = sum_k a[q, k] y_k
 *
 * Requirements:
 * - each row of `weights` sums to 1;
 * - a tiny width must not give NaN (with h = 0.001, exp(-u^2 / 2) underflows to 0 for every key
 *   farther than about 0.013 from the query, often for all of them, and 0 / 0 is NaN):
 *   use the softmax form (`tf.softmax` subtracts each row's maximum first);
 * - use tfjs ops inside `tf.tidy` (`expandDims` or `reshape` to broadcast [Q, 1] against
 *   [1, K], `tf.matMul` or `tf.sum` for the weighted average).
 *
 * @param queries `[Q]` float32 query inputs
 * @param keys `[K]` float32 training inputs
 * @param values `[K]` float32 training targets
 * @param width `h > 0`
 * @returns `weights [Q, K]` and `predictions [Q]`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function nadarayaWatson(
  queries: tf.Tensor1D,
  keys: tf.Tensor1D,
  values: tf.Tensor1D,
  width: number,
): { weights: tf.Tensor2D; predictions: tf.Tensor1D } {
  void queries;
  void keys;
  void values;
  void width;
  return notImplemented('nadarayaWatson', 'exercises/01-attention-pooling/nadaraya-watson.ts');
}
