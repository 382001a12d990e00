/**
 * Exercise 02.3: scaled dot-product attention (chapter 02, "Attention scoring functions").
 *
 * The attention of the Transformer (Vaswani et al., 2017, Eq. 1), with optional valid lengths:
 *
 *   scores  = Q K^T / sqrt(D)                  [B, T, S]   (D, the width of queries and keys)
 *   weights = masked softmax of scores over the keys (last axis)
 *   output  = weights V                         [B, T, Dv]
 *
 * Without `validLens` every key takes part. With `validLens`, key `s` of batch element `b` takes
 * part only when `s < validLens[b]`: the other keys get weight exactly 0, and a batch element with
 * `validLens[b] = 0` gets all-zero weights (and so an all-zero output), not NaN.
 *
 * Requirements:
 * - divide by sqrt(D), the width of the queries (the last axis), not by D;
 * - stable for large scores (no NaN or Infinity): `tf.softmax` subtracts the row maximum;
 * - no tensor is left behind: wrap the work in `tf.tidy` (only the returned tensors survive).
 * Tips: `tf.matMul(a, b, false, true)` multiplies `a` by the transpose of `b` in each batch
 * element (`[B, T, D] x [B, S, D]^T -> [B, T, S]`). For the mask you may reuse your answer to
 * exercise 02.1, or build it again from `tf.range`, `tf.less` and `tf.where`.
 *
 * @param query `[B, T, D]`
 * @param key `[B, S, D]`
 * @param value `[B, S, Dv]`
 * @param validLens optional `[B]` int32, each in `[0, S]`
 * @returns `{ weights [B, T, S], output [B, T, Dv] }`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

/** What scaled dot-product attention returns. */
export interface AttentionOutput {
  /** `[B, T, S]`: each row sums to 1 (0 for a batch element with no valid key). */
  weights: tf.Tensor3D;
  /** `[B, T, Dv]`: one weighted average of the values per query. */
  output: tf.Tensor3D;
}

export function scaledDotProductAttention(
  query: tf.Tensor3D,
  key: tf.Tensor3D,
  value: tf.Tensor3D,
  validLens?: tf.Tensor1D,
): AttentionOutput {
  void [query, key, value, validLens];
  return notImplemented(
    'scaledDotProductAttention',
    'exercises/02-scoring-functions/scaled-dot-product.ts',
  );
}
