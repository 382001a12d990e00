/**
 * Exercise 02.2: additive attention scores (chapter 02, "Attention scoring functions").
 *
 * Additive attention, from Bahdanau et al. (2014), scores a query against a key with a small network
 * of one hidden layer, so queries and keys may have different widths:
 *
 *   scores[b, t, s] = v^T tanh(W_q^T q[b, t] + W_k^T k[b, s])
 *
 * with q[b, t] the query vector (length Dq), k[b, s] the key vector (length Dk), W_q `[Dq, A]`,
 * W_k `[Dk, A]` and v `[A]`. In tfjs terms: project the queries (`[.., Dq] x [Dq, A]`) and the
 * keys (`[.., Dk] x [Dk, A]`), add every projected query to every projected key by broadcasting
 * (`[B, T, 1, A] + [B, 1, S, A] -> [B, T, S, A]`), apply `tf.tanh`, then take the dot product
 * with v over the last axis (`-> [B, T, S]`).
 *
 * Requirements:
 * - the result has shape `[B, T, S]`: one row per query, one column per key;
 * - it works for any sizes, e.g. Dq != Dk, and for large inputs (tanh saturates; no NaN);
 * - no tensor is left behind: wrap the work in `tf.tidy` (only the returned tensor survives).
 * Tips: `tf.matMul` takes inputs of rank 2 or more and broadcasts a matrix over the batch
 * (in tfjs 4.22, `[B, T, Dq] x [Dq, A] -> [B, T, A]` works as it is), but not a 1-D vector: for
 * the dot product with v use `tf.sum(tf.mul(x, v), -1)` (or reshape v to `[A, 1]`);
 * `x.expandDims(axis)` inserts an axis of size 1; `tf.sum(x, -1)` sums the last axis.
 *
 * @param queries `[B, T, Dq]`
 * @param keys `[B, S, Dk]`
 * @param wQ `[Dq, A]`
 * @param wK `[Dk, A]`
 * @param v `[A]`
 * @returns scores `[B, T, S]`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function additiveScores(
  queries: tf.Tensor3D,
  keys: tf.Tensor3D,
  wQ: tf.Tensor2D,
  wK: tf.Tensor2D,
  v: tf.Tensor1D,
): tf.Tensor3D {
  void [queries, keys, wQ, wK, v];
  return notImplemented('additiveScores', 'exercises/02-scoring-functions/additive-scores.ts');
}
