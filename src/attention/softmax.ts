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

/** Softmax over the kept entries of the last axis, `keep` broadcast to `scores`; see `maskedSoftmax`. */
function softmaxOverKept(scores: tf.Tensor, keep: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const biased = bias ? tf.add(scores, bias) : scores;
  const kept = tf.broadcastTo(keep, scores.shape);
  // Hidden keys get -Infinity, below every finite score, so exp() makes them exactly 0 whatever
  // the kept scores are. A row with no kept key would be all -Infinity (NaN after the softmax):
  // its inputs are replaced by zeros first, and multiplying by the mask turns it into zeros.
  // `where` selects rather than multiplies, so no NaN or Infinity reaches the gradient.
  // (max then greaterEqual rather than `any`: tfjs has a gradient for those, and a mask built
  // from trainable values, as in local-p attention, is on the gradient tape.)
  const keptFloat = tf.cast(kept, 'float32');
  const anyKept = tf.greaterEqual(tf.max(keptFloat, -1, true), 1); // [..., 1]
  const filled = tf.where(kept, biased, tf.fill(scores.shape, -Infinity));
  const safe = tf.where(tf.broadcastTo(anyKept, scores.shape), filled, tf.zerosLike(scores));
  return tf.mul(tf.softmax(safe), keptFloat);
}
