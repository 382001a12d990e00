/**
 * Exercise 05.3: a causal mask and masked self-attention (chapter 05, "Self-attention, multi-head
 * attention and positional encoding").
 *
 * A decoder writes its output one position at a time, so position `t` must not look at positions
 * after it. Two functions:
 *
 * 1. `causalMask(T)`: a bool `[T, T]` mask, `true` where query `t` may attend to key `s`, that is
 *    when `s <= t` (the lower triangle with the diagonal). The course's convention everywhere:
 *    **`true` = keep**, `false` = hide.
 * 2. `causalSelfAttention(query, key, value, validLens?)`: scaled dot-product attention in which
 *    key `s` takes part for query `t` of batch element `b` only when `s <= t` AND (with
 *    `validLens`) `s < validLens[b]` (padding at the end of the sequence):
 *
 *      scores  = Q K^T / sqrt(D)                              [B, T, T]
 *      scores  = where(keep, scores, -Infinity)               hidden keys get weight exactly 0
 *      weights = softmax(scores) over the keys (last axis)    [B, T, T]
 *      output  = weights V                                    [B, T, Dv]
 *
 * Every `validLens[b]` is at least 1, so each query keeps at least key 0 and no row is empty.
 *
 * Common mistakes:
 * - mask polarity: a mask that is `true` above the diagonal lets every query see the future and
 *   hides the past; `tf.lessEqual(s, t)` with `s` the column (key) index is the right test;
 * - `s < t` instead of `s <= t`: query 0 then sees nothing at all (a row of NaN);
 * - multiplying the scores by a 0/1 mask: a score of 0 still gets weight `exp(0) > 0`. Fill hidden
 *   scores with `-Infinity` (exactly 0 after the softmax) or a large negative number such as
 *   `-1e9` (0 in float32 as long as real scores are small by comparison);
 * - forgetting `validLens`, or the `1 / sqrt(D)`.
 * Wrap the work in `tf.tidy`; `tf.range`, `tf.lessEqual`, `tf.logicalAnd`, `tf.where` help.
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

/**
 * @param length `T`
 * @returns bool `[T, T]`, entry `[t, s]` true when `s <= t`
 */
export function causalMask(length: number): tf.Tensor2D {
  void length;
  return notImplemented('causalMask', 'exercises/05-self-attention/causal-attention.ts');
}

/** What `causalSelfAttention` returns. */
export interface CausalAttentionOutput {
  /** `[B, T, T]`: each row sums to 1 over the keys it may see, 0 elsewhere. */
  weights: tf.Tensor3D;
  /** `[B, T, Dv]` */
  output: tf.Tensor3D;
}

/**
 * @param query `[B, T, D]`
 * @param key `[B, T, D]`
 * @param value `[B, T, Dv]`
 * @param validLens optional `[B]` int32, each in `[1, T]`
 */
export function causalSelfAttention(
  query: tf.Tensor3D,
  key: tf.Tensor3D,
  value: tf.Tensor3D,
  validLens?: tf.Tensor1D,
): CausalAttentionOutput {
  void [query, key, value, validLens];
  return notImplemented('causalSelfAttention', 'exercises/05-self-attention/causal-attention.ts');
}
