/** Attention pooling: weights from scores, then a weighted average of the values. */
import * as tf from '@tensorflow/tfjs';
import { checkFinite, checkShape, dimOf } from '../core/shapes';
import { maskedSoftmax, type MaskOptions } from './softmax';

/** What every attention function returns: the pooled output, and the weights for plotting. */
export type AttentionResult = {
  /** `[B, T, Dv]` (or `[B, H, T, Dv]`): one weighted average of the values per query. */
  output: tf.Tensor;
  /** `[B, T, S]` (or `[B, H, T, S]`): rows sum to 1 (0 for a fully masked row). */
  weights: tf.Tensor;
};

/** `[B, T]` or `[B, H, T]`-style leading axes for rank-3 or rank-4 attention inputs. */
function leadingAxes(rank: number, name: string): string[] {
  if (rank === 3) return ['B'];
  if (rank === 4) return ['B', 'H'];
  throw new Error(`${name}: expected rank 3 [B, T, D] or rank 4 [B, H, T, Dh], got rank ${rank}`);
}

/**
 * Attention pooling `output = softmax(scores) V`, with masking.
 * @param scores `[B, T, S]` (or `[B, H, T, S]`)
 * @param value `[B, S, Dv]` (or `[B, H, S, Dv]`)
 * @returns output `[B, T, Dv]` and weights `[B, T, S]`
 */
export function attentionPooling(
  scores: tf.Tensor,
  value: tf.Tensor,
  opts: MaskOptions = {},
): AttentionResult {
  const lead = leadingAxes((scores as tf.Tensor)?.rank, 'scores');
  const dims = checkShape(scores, [...lead, 'T', 'S'], 'scores');
  checkShape(value, [...lead, 'S', 'Dv'], 'value', { dims });
  checkFinite(value, 'value');
  return tf.tidy(() => {
    const weights = maskedSoftmax(scores, opts);
    const output = tf.matMul(weights, value); // [B, T, S] x [B, S, Dv] -> [B, T, Dv]
    return { output, weights };
  });
}

/**
 * Scaled dot-product attention (Vaswani et al., 2017, Eq. 1):
 * `Attention(Q, K, V) = softmax(Q K^T / sqrt(d)) V`.
 * Dividing by `sqrt(d)` keeps the scores' variance near 1 when query and key entries have unit
 * variance, so the softmax does not saturate as the width grows.
 * @param query `[B, T, D]` (or `[B, H, T, Dh]`)
 * @param key `[B, S, D]` (or `[B, H, S, Dh]`)
 * @param value `[B, S, Dv]` (or `[B, H, S, Dv]`)
 * @returns output `[B, T, Dv]` and weights `[B, T, S]`
 */
export function scaledDotProductAttention(
  query: tf.Tensor,
  key: tf.Tensor,
  value: tf.Tensor,
  opts: MaskOptions = {},
): AttentionResult {
  const lead = leadingAxes((query as tf.Tensor)?.rank, 'query');
  const dims = checkShape(query, [...lead, 'T', 'D'], 'query');
  checkShape(key, [...lead, 'S', 'D'], 'key', { dims });
  checkShape(value, [...lead, 'S', 'Dv'], 'value', { dims });
  checkFinite(query, 'query');
  checkFinite(key, 'key');
  return tf.tidy(() => {
    const d = dimOf(query, -1);
    const scores = tf.div(tf.matMul(query, key, false, true), Math.sqrt(d)); // [B, T, D] x [B, S, D]^T -> [B, T, S]
    return attentionPooling(scores, value, opts);
  });
}
