/** Softmax with a temperature, and masked softmax: how scores become attention weights. */
import * as tf from '@tensorflow/tfjs';
import {
  assertTensor,
  checkDtype,
  checkFinite,
  checkPositive,
  checkRows,
  formatShape,
} from '../core/shapes';
import { checkValidLens, validLensMask } from './masks';

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
  assertTensor(scores, 'scores');
  checkDtype(scores, 'float32', 'scores');
  checkPositive(temperature, 'temperature');
  if (scores.rank === 0 || scores.shape[scores.rank - 1] === 0) {
    throw new Error(
      `scores: expected a non-empty last axis [..., S], got shape ${formatShape(scores.shape)}`,
    );
  }
  checkFinite(scores, 'scores');
  return tf.tidy(() => tf.softmax(temperature === 1 ? scores : tf.div(scores, temperature)));
}

/** How to hide keys from a masked softmax. Give at most one of the two. */
export interface MaskOptions {
  /** `[B]` or `[B, T]`: only the first `validLens` keys of each row are kept (scores must be `[B, T, S]`). */
  validLens?: tf.Tensor;
  /**
   * Either a bool mask broadcastable to the scores (`true` = keep), or a float additive mask whose
   * `-Infinity` entries hide keys and whose finite entries are added to the scores.
   */
  mask?: tf.Tensor;
}

function broadcastable(mask: tf.Tensor, target: number[]): boolean {
  if (mask.rank > target.length) return false;
  const offset = target.length - mask.rank;
  return mask.shape.every((d, i) => d === 1 || d === target[offset + i]);
}

/**
 * Builds the bool keep-mask (and any additive bias) for scores from `validLens` or `mask`.
 * Shared by every attention function so that masking has one definition.
 */
export function resolveMask(
  scores: tf.Tensor,
  opts: MaskOptions,
): { keep?: tf.Tensor; bias?: tf.Tensor } {
  const { validLens, mask } = opts;
  if (validLens !== undefined && mask !== undefined) {
    throw new Error(
      'maskedSoftmax: give either validLens or mask, not both (combine them into one mask)',
    );
  }
  if (validLens !== undefined) {
    if (scores.rank !== 3) {
      throw new Error(
        `validLens: needs scores of shape [B, T, S], got ${formatShape(scores.shape)} (use mask instead)`,
      );
    }
    const [batch, queryLen, keyLen] = scores.shape;
    checkValidLens(validLens, batch, queryLen, keyLen);
    return { keep: validLensMask(validLens, queryLen, keyLen) };
  }
  if (mask !== undefined) {
    assertTensor(mask, 'mask');
    checkDtype(mask, ['bool', 'float32'], 'mask');
    if (!broadcastable(mask, scores.shape)) {
      throw new Error(
        `mask: expected a shape broadcastable to the scores ${formatShape(scores.shape)}, ` +
          `got ${formatShape(mask.shape)}`,
      );
    }
    if (mask.dtype === 'bool') return { keep: mask };
    checkFinite(mask, 'mask', { allowNegInf: true });
    return tf.tidy(() => {
      const keep = tf.notEqual(mask, -Infinity);
      return { keep, bias: tf.where(keep, mask, tf.zerosLike(mask)) };
    });
  }
  return {};
}

/**
 * Masked softmax along the last axis: hidden keys get weight exactly 0 and the kept ones share
 * the whole weight, `w_s = exp(x_s) / sum_{s' kept} exp(x_s')`. A row with no kept key returns
 * all zeros (not NaN, and not a uniform average over padding).
 * @param scores `[B, T, S]` with `validLens`, or any rank with a broadcastable `mask`
 * @returns weights with the shape of `scores`
 */
export function maskedSoftmax(scores: tf.Tensor, opts: MaskOptions = {}): tf.Tensor {
  checkRows(scores, 'scores');
  return tf.tidy(() => {
    const { keep, bias } = resolveMask(scores, opts);
    if (keep === undefined) return tf.softmax(scores);
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
  });
}
