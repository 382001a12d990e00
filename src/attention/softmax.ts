/** Softmax with a temperature, and masked softmax: how scores become attention weights. */
import * as tf from '@tensorflow/tfjs';
import { op } from '../core/op';
import { checkPositive, checkRows } from '../core/shapes';
import { attentionMask, checkMaskOptions, type AttentionMaskOptions } from './masks';

/**
 * Softmax along the last axis with a temperature:
 * `softmax(x / tau)_i = exp(x_i / tau) / sum_j exp(x_j / tau)`.
 * A small `tau` approaches a hard (one-hot argmax) selection, a large one approaches the uniform
 * average. Stable for large scores (tfjs subtracts the row maximum before `exp`).
 * @param scores `[..., S]`
 * @param temperature `tau > 0`. Defaults to 1.
 * @returns `[..., S]`, each row sums to 1.
 */
export function softmax(scores: tf.Tensor, temperature = 1): tf.Tensor {
  return op(
    'softmax',
    () => (checkRows(scores, 'scores'), checkPositive(temperature, 'temperature')),
    () => tf.softmax(temperature === 1 ? scores : tf.div(scores, temperature)),
  );
}

/**
 * Masked softmax along the last axis: hidden keys get weight exactly 0 and the kept ones share
 * the whole weight, `w_s = exp(x_s) / sum_{s' kept} exp(x_s')`. A row with no kept key returns
 * all zeros (not NaN, and not a uniform average over padding).
 * @param scores `[B, T, S]` or `[B, H, T, S]` (any rank with `mask` alone)
 * @param opts which keys to hide: `validLens`, `causal`, `mask` (see `AttentionMaskOptions`)
 * @returns weights with the shape of `scores`
 */
export function maskedSoftmax(scores: tf.Tensor, opts: AttentionMaskOptions = {}): tf.Tensor {
  return op(
    'maskedSoftmax',
    () => (checkRows(scores, 'scores'), checkMaskOptions(opts, scores.shape)),
    () => {
      const { keep, bias } = attentionMask(opts, scores.shape);
      return keep === undefined ? tf.softmax(scores) : softmaxOverKept(scores, keep, bias);
    },
  );
}

/**
 * Softmax over the kept entries of the last axis, `keep` broadcast to `scores`; see `maskedSoftmax`.
 * Hidden keys get -Infinity, below every finite score, so exp() makes them exactly 0 whatever
 * the kept scores are. A row with no kept key would be all -Infinity (NaN after the softmax): its
 * inputs are replaced by zeros first, and multiplying by the mask turns it into zeros. Selecting
 * (`where`) rather than multiplying keeps NaN and Infinity out of the gradient. (max then
 * greaterEqual rather than `any` or logical ops: tfjs has a gradient for those, and a mask built
 * from trainable values, as in local-p attention, is on the gradient tape.)
 *
 * Two equivalent forms, for speed: when `keep` is as large as `scores`, selections at the
 * scores' shape (fewest kernels); when it broadcasts (a causal `[1, 1, T, S]` or padding
 * `[B, 1, 1, S]` mask under `[B, H, T, S]` scores), the mask stays small and the Add and Mul
 * kernels broadcast it: materialising it (`broadcastTo`, or a `where` of two shapes, which
 * broadcasts through Tile) cost more than the softmax itself.
 */
function softmaxOverKept(scores: tf.Tensor, keep: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const biased = bias ? tf.add(scores, bias) : scores;
  const keptFloat = tf.cast(keep, 'float32'); // keep's shape
  const anyKept = tf.greaterEqual(tf.max(keptFloat, -1, true), 1); // [..., 1]
  if (keep.size === scores.size) {
    const kept = tf.reshape(keep, scores.shape);
    const filled = tf.where(kept, biased, tf.fill(scores.shape, -Infinity));
    const safe = tf.where(tf.broadcastTo(anyKept, scores.shape), filled, tf.zerosLike(scores));
    return tf.mul(tf.softmax(safe), keptFloat);
  }
  // -Infinity where hidden in a row with a kept key, 0 elsewhere (so an empty row stays finite)
  const hideFloat = tf.mul(tf.sub(1, keptFloat), tf.cast(anyKept, 'float32')); // keep's shape
  const hide = tf.greaterEqual(hideFloat, 1);
  const offset = tf.where(hide, tf.fill(hide.shape, -Infinity), tf.zerosLike(keptFloat));
  return tf.mul(tf.softmax(tf.add(biased, offset)), keptFloat);
}
