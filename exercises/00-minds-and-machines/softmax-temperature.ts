/**
 * Exercise 00.1: softmax with a temperature (chapter 00, "Attention in minds and machines").
 *
 * Attention turns scores into weights that are non-negative and sum to 1. The temperature
 * `tau > 0` sets how selective the weights are: a small `tau` puts almost all weight on the
 * highest score (nearly hard selection), a large `tau` spreads it evenly (the plain average).
 * Along the last axis:
 *
 *   w_i = exp(x_i / tau) / sum_j exp(x_j / tau)
 *
 * Requirements:
 * - any rank >= 1 (`[S]`, `[B, S]`, `[B, T, S]`, ...): the result has the shape of `scores`, and
 *   every row along the last axis sums to 1;
 * - numerically stable: scores such as 1000, or a temperature such as 0.001, must not give
 *   Infinity or NaN. Subtract each row's maximum `m` before `exp`: it does not change the
 *   weights, because `exp(x_i - m) / sum_j exp(x_j - m) = exp(x_i) / sum_j exp(x_j)`;
 * - throw a `RangeError` when `temperature` is not a finite number greater than 0.
 *
 * Use tfjs ops inside `tf.tidy`: `tf.div`, `tf.max(x, -1, true)` (keepDims keeps the row axis so
 * that it broadcasts), `tf.sub`, `tf.exp`, `tf.sum(x, -1, true)`. (`tf.softmax` would do the
 * last three steps for you; try it with `tf.exp` first.)
 *
 * @param scores `[..., S]` float32
 * @param temperature `tau > 0`
 * @returns weights `[..., S]`, float32
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function softmaxWithTemperature(scores: tf.Tensor, temperature: number): tf.Tensor {
  void scores;
  void temperature;
  return notImplemented(
    'softmaxWithTemperature',
    'exercises/00-minds-and-machines/softmax-temperature.ts',
  );
}
