/**
 * Exercise 01.1: a kernel of your choice (chapter 01, "Queries, keys, values and attention
 * pooling").
 *
 * Nadaraya-Watson pooling turns the distance `d = (query - key) / h` between a query and each key
 * into a weight `K(d)`, then normalises the weights over the keys. Any function `K` works as a
 * kernel if it says "closer keys count at least as much":
 *
 * - `K(d) >= 0` for every `d` (a weight cannot be negative);
 * - `K(-d) = K(d)` (a key to the left counts like one as far to the right);
 * - `K(0) > 0` and `K(0) >= K(d)` (nothing beats an exact match);
 * - `K` does not increase as `|d|` grows, and is small far away (`K(10000) < K(0) / 2`); every
 *   graded test checks this first, since a kernel that does not fall off (a constant, say)
 *   weighs every key alike: that is average pooling, not attention, and scores 0;
 * - `K(d)` is finite, also for huge distances such as `d = 10000`.
 *
 * Pick one: the Gaussian `exp(-d^2 / 2)`, the Laplace `exp(-|d|)`, the triangle
 * `max(0, 1 - |d|)`, the Epanechnikov `max(0, 1 - d^2)`, the boxcar, `1 / (1 + d^2)`, ...
 * Constant factors do not matter (the normalisation removes them). Apply it element by element
 * with tfjs ops (`tf.exp`, `tf.square`, `tf.abs`, `tf.relu`, ...) inside `tf.tidy`; do not
 * normalise here, the graded tests do that part.
 *
 * @param distance any shape, float32 (scaled distances `(query - key) / h`)
 * @returns `K(distance)`, same shape, float32
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function kernel(distance: tf.Tensor): tf.Tensor {
  void distance;
  return notImplemented('kernel', 'exercises/01-attention-pooling/kernel.ts');
}
