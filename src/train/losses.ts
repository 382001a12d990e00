/**
 * Cross-entropy losses for classifiers and for sequence models over padded target batches.
 *
 * For one token with logits `z` (`V` classes), target class `y` and label smoothing `eps`, the
 * target distribution is `q_c = (1 - eps) [c = y] + eps / V` and the loss is
 *
 * `loss = -sum_c q_c log_softmax(z)_c = (1 - eps) (-log p_y) + eps * mean_c(-log p_c)`,
 *
 * exactly PyTorch's `CrossEntropyLoss(label_smoothing=eps)` (1.13), where `eps` is spread over all
 * `V` classes, the target class included. A batch's loss is the mean over its real tokens only:
 * padding positions (past `validLens`, or equal to `padId`, PyTorch's `ignore_index`) count for
 * nothing, in the value and in the gradient.
 *
 * Everything is computed from `logSoftmax(z) = z - max(z) - log(sum(exp(z - max(z))))`, never from
 * `log(softmax(z))`: a class whose probability underflows to 0 has a large finite log-probability
 * (about `-1e9` for logits `-1e9` and `+1e9`), not `-Infinity`, so the loss and its gradient never
 * become Inf or NaN.
 */
import * as tf from '@tensorflow/tfjs';
import { assertTensor, checkDtype, checkFinite, checkShape, formatShape } from '../core/shapes';

/** Options of `crossEntropy`. */
export interface CrossEntropyOptions {
  /**
   * Label smoothing `eps` in `[0, 1]`: the target distribution puts `1 - eps + eps / V` on the
   * target class and `eps / V` on every other one. Defaults to `0` (plain cross-entropy).
   */
  labelSmoothing?: number;
}

/** Which target positions are real tokens. Both may be given; a position must pass both. */
export interface TokenMaskOptions {
  /** `[B]`: in row `b`, positions `t < validLens[b]` are real and the rest is padding. */
  validLens?: tf.Tensor | number[];
  /** Targets equal to `padId` are padding (PyTorch's `ignore_index`). */
  padId?: number;
}

/** Options of `maskedCrossEntropy`. */
export interface MaskedCrossEntropyOptions extends CrossEntropyOptions, TokenMaskOptions {}

function checkOptions(opts: unknown, name: string): void {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null || Array.isArray(opts))) {
    throw new TypeError(`${name}: expected an options object, got ${String(opts)}`);
  }
}

function checkSmoothing(value: unknown): number {
  const eps = value ?? 0;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0 || eps > 1) {
    throw new RangeError(`labelSmoothing: expected a number in [0, 1], got ${String(eps)}`);
  }
  return eps;
}

/** `validLens` as plain integers, checked against `[B]` and `[0, T]`. */
function readValidLens(validLens: unknown, batch: number, len: number): number[] {
  let values: number[];
  if (Array.isArray(validLens)) {
    values = validLens as number[];
  } else {
    assertTensor(validLens, 'validLens');
    checkDtype(validLens, ['int32', 'float32'], 'validLens');
    checkShape(validLens, [batch], 'validLens');
    values = Array.from(validLens.dataSync());
  }
  if (values.length !== batch) {
    throw new Error(
      `validLens: expected ${batch} lengths (one per row, [B]), got ${values.length}`,
    );
  }
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > len) {
      throw new RangeError(
        `validLens: expected integers in [0, T] = [0, ${len}], got ${String(v)} at index ${i}`,
      );
    }
  });
  return values;
}

/**
 * 1 where a target is a real token and 0 where it is padding, as plain values (row-major
 * `[B, T]`). Reads `targets` (and a `validLens` tensor) back to the host.
 */
function realTokenFlags(targets: tf.Tensor, opts: TokenMaskOptions): Float32Array {
  const [batch, len] = targets.shape as [number, number];
  const flags = new Float32Array(batch * len).fill(1);
  if (opts.validLens !== undefined) {
    const lens = readValidLens(opts.validLens, batch, len);
    for (let b = 0; b < batch; b++) for (let t = lens[b]; t < len; t++) flags[b * len + t] = 0;
  }
  if (opts.padId !== undefined) {
    if (typeof opts.padId !== 'number' || !Number.isInteger(opts.padId)) {
      throw new TypeError(`padId: expected an integer token id, got ${String(opts.padId)}`);
    }
    const ids = targets.dataSync();
    for (let i = 0; i < ids.length; i++) if (ids[i] === opts.padId) flags[i] = 0;
  }
  return flags;
}

/** Checks `targets` `[B, T]` int32 against `[B, T]` and names the argument. */
function checkTargets2d(
  targets: unknown,
  batch: number,
  len: number,
): asserts targets is tf.Tensor {
  assertTensor(targets, 'targets');
  checkDtype(targets, 'int32', 'targets');
  checkShape(targets, ['B', 'T'], 'targets', {
    dims: { B: { size: batch, boundBy: 'logits' }, T: { size: len, boundBy: 'logits' } },
  });
}

/** Throws unless every real target is a class index in `[0, V)`, naming the first bad one. */
function checkTargetRange(
  targets: tf.Tensor,
  flags: Float32Array | null,
  numClasses: number,
): void {
  const ids = targets.dataSync();
  for (let i = 0; i < ids.length; i++) {
    if (flags !== null && flags[i] === 0) continue;
    if (ids[i] < 0 || ids[i] >= numClasses) {
      throw new RangeError(
        `targets: expected class indices in [0, V) = [0, ${numClasses}) at real tokens, ` +
          `got ${ids[i]} at flat index ${i} of shape ${formatShape(targets.shape)}`,
      );
    }
  }
}

/**
 * Per-row loss `-sum_c q_c log_softmax(z)_c` with the smoothed target distribution `q`.
 * @param logits `[N, V]`
 * @param targets `[N]` int32 (out-of-range ids give a one-hot row of zeros; callers mask them)
 * @returns `[N]`
 */
function rowLosses(logits: tf.Tensor2D, targets: tf.Tensor1D, eps: number): tf.Tensor1D {
  const numClasses = logits.shape[1];
  const logp = tf.logSoftmax(logits); // [N, V]
  const oneHot = tf.oneHot(targets, numClasses).toFloat(); // [N] -> [N, V]
  const q = eps === 0 ? oneHot : tf.add(tf.mul(oneHot, 1 - eps), eps / numClasses); // [N, V]
  return tf.neg(tf.sum(tf.mul(q, logp), -1)) as tf.Tensor1D; // [N, V] -> [N]
}

/**
 * Mean cross-entropy of a classifier (PyTorch's `F.cross_entropy(logits, targets,
 * label_smoothing=eps)`), computed from log-softmax so that it stays finite for any finite logits.
 * Reads `targets` back to the host once to check that every id is a class index.
 * @param logits `[B, V]` float32, unnormalised scores of `V` classes
 * @param targets `[B]` int32 class indices in `[0, V)`
 * @returns a scalar tensor, the mean over the batch
 */
export function crossEntropy(
  logits: tf.Tensor,
  targets: tf.Tensor,
  opts: CrossEntropyOptions = {},
): tf.Scalar {
  checkOptions(opts, 'opts');
  const eps = checkSmoothing(opts.labelSmoothing);
  assertTensor(logits, 'logits');
  checkDtype(logits, 'float32', 'logits');
  const dims = checkShape(logits, ['B', 'V'], 'logits');
  assertTensor(targets, 'targets');
  checkDtype(targets, 'int32', 'targets');
  checkShape(targets, ['B'], 'targets', { dims });
  checkFinite(logits, 'logits');
  checkTargetRange(targets, null, dims.V.size);
  return tf.tidy(() => tf.mean(rowLosses(logits as tf.Tensor2D, targets as tf.Tensor1D, eps)));
}

/**
 * Float mask of real target tokens: 1 at a real token, 0 at padding (past `validLens[b]`, or a
 * target equal to `padId`). With neither option every position is real. Reads `targets` and
 * `validLens` back to the host.
 * @param targets `[B, T]` int32
 * @returns `[B, T]` float32 of 0 and 1
 */
export function tokenMask(targets: tf.Tensor, opts: TokenMaskOptions = {}): tf.Tensor2D {
  checkOptions(opts, 'opts');
  assertTensor(targets, 'targets');
  checkDtype(targets, 'int32', 'targets');
  checkShape(targets, ['B', 'T'], 'targets');
  return tf.tensor2d(realTokenFlags(targets, opts), targets.shape as [number, number]);
}

/**
 * Mean token cross-entropy over the real tokens of a padded batch, with optional label smoothing:
 * `sum_{b,t} m[b,t] loss[b,t] / sum_{b,t} m[b,t]`, `m` = `tokenMask(targets, opts)`. Equal to
 * PyTorch's `CrossEntropyLoss(ignore_index=pad, label_smoothing=eps)` on the flattened batch. A
 * batch with no real token gives 0 (PyTorch gives NaN) and a zero gradient.
 *
 * Reads `targets` (and a `validLens` tensor) back to the host once, to build the mask and check
 * that every real target is a class index; the loss itself stays on the device and can be
 * differentiated inside `tf.variableGrads`.
 * @param logits `[B, T, V]` float32, finite
 * @param targets `[B, T]` int32; at padding positions any value is allowed
 * @param opts `validLens` `[B]` and/or `padId`, and `labelSmoothing` (defaults to 0)
 * @returns a scalar tensor
 */
export function maskedCrossEntropy(
  logits: tf.Tensor,
  targets: tf.Tensor,
  opts: MaskedCrossEntropyOptions = {},
): tf.Scalar {
  checkOptions(opts, 'opts');
  const eps = checkSmoothing(opts.labelSmoothing);
  assertTensor(logits, 'logits');
  checkDtype(logits, 'float32', 'logits');
  const dims = checkShape(logits, ['B', 'T', 'V'], 'logits');
  const [batch, len, numClasses] = [dims.B.size, dims.T.size, dims.V.size];
  checkTargets2d(targets, batch, len);
  checkFinite(logits, 'logits');
  const flags = realTokenFlags(targets, opts);
  checkTargetRange(targets, flags, numClasses);
  return tf.tidy(() => {
    const weights = tf.tensor1d(flags); // [B * T]
    const flatLogits = logits.reshape([batch * len, numClasses]) as tf.Tensor2D; // [B, T, V] -> [B*T, V]
    const flatTargets = targets.reshape([batch * len]) as tf.Tensor1D; // [B, T] -> [B*T]
    const losses = rowLosses(flatLogits, flatTargets, eps); // [B*T]
    const count = tf.maximum(tf.sum(weights), 1); // no real token: 0 / 1, not 0 / 0
    return tf.div(tf.sum(tf.mul(losses, weights)), count) as tf.Scalar;
  });
}
