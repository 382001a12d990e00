/**
 * Evaluation metrics for sequence models over padded batches: token accuracy and sequence exact
 * match. Both read tensors back to the host and return plain numbers: call them on evaluation
 * batches, not inside a training step's gradient function.
 */
import * as tf from '@tensorflow/tfjs';
import { assertTensor, checkDtype, checkShape, formatShape } from '../core/shapes';
import { tokenMask, type TokenMaskOptions } from '../train/losses';

/** Token ids as a tensor or as nested arrays (one row per sequence). */
export type TokenRows = tf.Tensor | number[][];

/** A `[B, T]` int32 tensor from a tensor or from rectangular rows of integers. */
function asTokenTensor(x: unknown, name: string): tf.Tensor {
  if (Array.isArray(x)) {
    const rows = x as unknown[];
    const width = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : -1;
    if (rows.length === 0 || width <= 0) {
      throw new Error(`${name}: expected a non-empty [B, T] array of token ids, got an empty one`);
    }
    rows.forEach((row, b) => {
      if (!Array.isArray(row) || row.length !== width) {
        throw new Error(
          `${name}: expected rows of equal length ${width} ([B, T]), got row ${b} ` +
            `${Array.isArray(row) ? `of length ${row.length}` : String(row)}`,
        );
      }
      row.forEach((v: unknown, t) => {
        if (typeof v !== 'number' || !Number.isInteger(v)) {
          throw new TypeError(
            `${name}: expected integer token ids, got ${String(v)} at [${b}, ${t}]`,
          );
        }
      });
    });
    return tf.tensor2d(rows as number[][], undefined, 'int32');
  }
  assertTensor(x, name);
  return x;
}

/**
 * Predicted ids, real-token flags and target ids as plain arrays, after checking shapes:
 * `predictions` is `[B, T, V]` float32 logits (argmax over `V`) or `[B, T]` int32 ids.
 */
function readPredictions(
  predictions: unknown,
  targets: unknown,
  opts: TokenMaskOptions,
): { pred: Int32Array; tgt: Int32Array; real: Float32Array; batch: number; len: number } {
  if (typeof opts !== 'object' || opts === null) {
    throw new TypeError(
      `opts: expected an options object { validLens?, padId? }, got ${String(opts)}`,
    );
  }
  const owned: tf.Tensor[] = [];
  try {
    const p = asTokenTensor(predictions, 'predictions');
    if (p !== predictions) owned.push(p);
    const t = asTokenTensor(targets, 'targets');
    if (t !== targets) owned.push(t);
    checkDtype(t, 'int32', 'targets');
    const dims = checkShape(t, ['B', 'T'], 'targets');
    let ids: tf.Tensor;
    if (p.rank === 3) {
      checkDtype(p, 'float32', 'predictions');
      checkShape(p, ['B', 'T', 'V'], 'predictions', { dims });
      ids = tf.argMax(p, -1); // [B, T, V] -> [B, T]
      owned.push(ids);
    } else if (p.rank === 2) {
      checkDtype(p, 'int32', 'predictions');
      checkShape(p, ['B', 'T'], 'predictions', { dims });
      ids = p;
    } else {
      throw new Error(
        `predictions: expected logits [B, T, V] or token ids [B, T], got shape ${formatShape(p.shape)}`,
      );
    }
    const mask = tokenMask(t, opts);
    owned.push(mask);
    return {
      pred: ids.dataSync() as Int32Array,
      tgt: t.dataSync() as Int32Array,
      real: mask.dataSync() as Float32Array,
      batch: dims.B.size,
      len: dims.T.size,
    };
  } finally {
    tf.dispose(owned);
  }
}

/**
 * Fraction of real target tokens predicted correctly: `#{real t : pred_t = target_t} / #{real t}`.
 * Padding (past `validLens`, or equal to `padId`) is left out. Returns `NaN` when the batch has no
 * real token. A plain number, read back from the device (for evaluation, not inside a training
 * step).
 * @param predictions `[B, T, V]` logits (the argmax is the prediction) or `[B, T]` token ids
 * @param targets `[B, T]` int32 token ids
 * @param opts which positions are real: `validLens` `[B]` and/or `padId`
 */
export function tokenAccuracy(
  predictions: TokenRows,
  targets: TokenRows,
  opts: TokenMaskOptions = {},
): number {
  const { pred, tgt, real } = readPredictions(predictions, targets, opts);
  let correct = 0;
  let total = 0;
  for (let i = 0; i < real.length; i++) {
    if (real[i] === 0) continue;
    total += 1;
    if (pred[i] === tgt[i]) correct += 1;
  }
  return total === 0 ? NaN : correct / total;
}

/**
 * Fraction of sequences whose every real token is predicted correctly (one wrong token makes the
 * whole sequence wrong; what the model predicts at padding does not matter). Rows with no real
 * token are left out; returns `NaN` when no row has one. A plain number, read back from the
 * device (for evaluation, not inside a training step).
 * @param predictions `[B, T, V]` logits (the argmax is the prediction) or `[B, T]` token ids
 * @param targets `[B, T]` int32 token ids
 * @param opts which positions are real: `validLens` `[B]` and/or `padId`
 */
export function exactMatch(
  predictions: TokenRows,
  targets: TokenRows,
  opts: TokenMaskOptions = {},
): number {
  const { pred, tgt, real, batch, len } = readPredictions(predictions, targets, opts);
  let matched = 0;
  let rows = 0;
  for (let b = 0; b < batch; b++) {
    let any = false;
    let ok = true;
    for (let i = b * len; i < (b + 1) * len; i++) {
      if (real[i] === 0) continue;
      any = true;
      if (pred[i] !== tgt[i]) ok = false;
    }
    if (!any) continue;
    rows += 1;
    if (ok) matched += 1;
  }
  return rows === 0 ? NaN : matched / rows;
}
