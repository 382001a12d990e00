/**
 * Exercise 01.3: the leave-one-out loss (chapter 01).
 *
 * To judge a kernel width `h` on the training data itself, predict each training point from all
 * the OTHER points, with Gaussian Nadaraya-Watson pooling, and average the squared errors:
 *
 *   f_{-i}(x_i) = sum_{j != i} exp(-((x_i - x_j) / h)^2 / 2) y_j / sum_{j != i} exp(-((x_i - x_j) / h)^2 / 2)
 *
 *   L(h) = (1 / K) sum_i (y_i - f_{-i}(x_i))^2
 *
 * Leaving the point out is the whole idea: if point i could see itself, a tiny width would
 * predict every y_i perfectly and the loss would be 0 whatever the noise.
 *
 * Requirements:
 * - the diagonal (key i for query i) gets weight exactly 0: mask it before normalising
 *   (e.g. add a large negative number on the diagonal of the scores, from `tf.eye`, then `tf.softmax`);
 * - tiny widths (e.g. h = 0.001) must not give NaN;
 * - return a scalar tensor; use tfjs ops inside `tf.tidy`.
 *
 * @param keys `[K]` float32 training inputs (K >= 2)
 * @param values `[K]` float32 training targets
 * @param width `h > 0`
 * @returns scalar loss `L(h)`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function leaveOneOutLoss(keys: tf.Tensor1D, values: tf.Tensor1D, width: number): tf.Scalar {
  void keys;
  void values;
  void width;
  return notImplemented('leaveOneOutLoss', 'exercises/01-attention-pooling/leave-one-out.ts');
}
