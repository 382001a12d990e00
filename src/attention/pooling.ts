/** Attention pooling: weights from scores, then a weighted average of the values. */
import * as tf from '@tensorflow/tfjs';
import { op } from '../core/op';
import {
  assertTensor,
  checkFinite,
  checkRows,
  checkShape,
  dimOf,
  type BoundDims,
} from '../core/shapes';
import { checkMaskOptions, type AttentionMaskOptions } from './masks';
import { maskedSoftmax } from './softmax';

/** What every attention function returns: the pooled output, and the weights for plotting. */
export type AttentionResult = {
  /** `[B, T, Dv]` (or `[B, H, T, Dv]`): one weighted average of the values per query. */
  output: tf.Tensor;
  /** `[B, T, S]` (or `[B, H, T, S]`): rows sum to 1 (0 for a fully masked row). */
  weights: tf.Tensor;
};

/** `[B]` or `[B, H]`: the leading axes of rank-3 or rank-4 attention inputs. */
function leadingAxes(x: unknown, name: string): string[] {
  const rank = x instanceof tf.Tensor ? x.rank : undefined;
  if (rank === 3) return ['B'];
  if (rank === 4) return ['B', 'H'];
  assertTensor(x, name);
  throw new Error(`${name}: expected rank 3 [B, T, D] or rank 4 [B, H, T, Dh], got rank ${rank}`);
}

/** Widths an attention layer fixes, for `checkAttentionInputs`. */
export interface AttentionWidths {
  /** Query width; without `queryDim` and `keyDim`, query and key must have the same width `D`. */
  queryDim?: number;
  /** Key width. */
  keyDim?: number;
  /** Value width. */
  valueDim?: number;
  /** Heads `H` the layer splits rank-3 inputs into: masks then broadcast to `[B, H, T, S]`. */
  numHeads?: number;
}

/**
 * Checks the arguments of an attention function: `query [B, T, Dq]`, `key [B, S, Dk]`,
 * `value [B, S, Dv]` (or with a heads axis `[B, H, ...]`), all finite, and the mask options
 * against the scores `[B, T, S]` (`[B, H, T, S]`).
 * @returns the bound letters (`B`, `T`, `S`, ...)
 */
export function checkAttentionInputs(
  args: { query: unknown; key: unknown; value: unknown },
  opts: AttentionMaskOptions | undefined,
  widths: AttentionWidths = {},
): BoundDims {
  const { query, key, value } = args;
  const { queryDim, keyDim, valueDim, numHeads } = widths;
  const lead = leadingAxes(query, 'query');
  const same = queryDim === undefined && keyDim === undefined;
  const dims = checkShape(query, [...lead, 'T', queryDim ?? (same ? 'D' : 'Dq')], 'query');
  checkShape(key, [...lead, 'S', keyDim ?? (same ? 'D' : 'Dk')], 'key', { dims });
  checkShape(value, [...lead, 'S', valueDim ?? 'Dv'], 'value', { dims });
  for (const [name, x] of Object.entries(args)) checkFinite(x as tf.Tensor, name);
  const heads = numHeads === undefined ? lead.slice(1).map((d) => dims[d].size) : [numHeads];
  checkMaskOptions(opts, [dims.B.size, ...heads, dims.T.size, dims.S.size]);
  return dims;
}

/**
 * Attention pooling `output = softmax(scores) V`, with masking.
 * @param scores `[B, T, S]` (or `[B, H, T, S]`)
 * @param value `[B, S, Dv]` (or `[B, H, S, Dv]`)
 * @param opts which keys to hide: `validLens`, `causal`, `mask` (see `AttentionMaskOptions`)
 * @returns output `[B, T, Dv]` and weights `[B, T, S]`
 */
export function attentionPooling(
  scores: tf.Tensor,
  value: tf.Tensor,
  opts: AttentionMaskOptions = {},
): AttentionResult {
  return op(
    'attentionPooling',
    () => {
      const lead = leadingAxes(scores, 'scores');
      const dims = checkShape(scores, [...lead, 'T', 'S'], 'scores');
      checkShape(value, [...lead, 'S', 'Dv'], 'value', { dims });
      checkRows(scores, 'scores');
      checkFinite(value, 'value');
      checkMaskOptions(opts, scores.shape);
    },
    () => {
      const weights = maskedSoftmax(scores, opts);
      const output = tf.matMul(weights, value); // [B, T, S] x [B, S, Dv] -> [B, T, Dv]
      return { output, weights };
    },
  );
}

/**
 * Scaled dot-product attention (Vaswani et al., 2017, Eq. 1):
 * `Attention(Q, K, V) = softmax(Q K^T / sqrt(D)) V`.
 * Dividing by `sqrt(D)` keeps the scores' variance near 1 when query and key entries have unit
 * variance, so the softmax does not saturate as the width grows.
 * @param query `[B, T, D]` (or `[B, H, T, Dh]`)
 * @param key `[B, S, D]` (or `[B, H, S, Dh]`)
 * @param value `[B, S, Dv]` (or `[B, H, S, Dv]`)
 * @param opts which keys to hide: `validLens`, `causal`, `mask` (see `AttentionMaskOptions`)
 * @returns output `[B, T, Dv]` and weights `[B, T, S]`
 */
export function scaledDotProductAttention(
  query: tf.Tensor,
  key: tf.Tensor,
  value: tf.Tensor,
  opts: AttentionMaskOptions = {},
): AttentionResult {
  return op(
    'scaledDotProductAttention',
    () => checkAttentionInputs({ query, key, value }, opts),
    () => {
      const d = dimOf(query, -1);
      const scores = tf.div(tf.matMul(query, key, false, true), Math.sqrt(d)); // [B, T, D] x [B, S, D]^T -> [B, T, S]
      return attentionPooling(scores, value, opts);
    },
  );
}
