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

function checkLabels(x: unknown, name: string): ArrayLike<number> {
  const values = x instanceof tf.Tensor ? (x.dataSync() as ArrayLike<number>) : x;
  if (x instanceof tf.Tensor && x.rank !== 1) {
    throw new Error(
      `${name}: expected a [B] tensor of class ids, got shape ${formatShape(x.shape)}`,
    );
  }
  if (!(Array.isArray(values) || ArrayBuffer.isView(values))) {
    throw new TypeError(`${name}: expected class ids (an array or a [B] tensor), got ${typeof x}`);
  }
  return values as ArrayLike<number>;
}

/**
 * Class predictions of a classifier over many images, in batches (so memory stays small):
 * the argmax of `model.apply(images[batch])` for each batch.
 * @param model anything with `apply(x) -> [B, K]` logits (a `VisionTransformer`, an MLP, ...)
 * @param images `[N, ...]`
 * @param batchSize images per forward pass; defaults to 500
 * @returns `N` predicted class ids
 */
export function predictClasses(
  model: { apply(x: tf.Tensor): tf.Tensor },
  images: tf.Tensor,
  batchSize = 500,
): Int32Array {
  if (model === null || typeof model !== 'object' || typeof model.apply !== 'function') {
    throw new TypeError(`model: expected an object with apply(x) -> [B, K], got ${String(model)}`);
  }
  assertTensor(images, 'images');
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize: expected a positive integer, got ${String(batchSize)}`);
  }
  const n = images.shape[0];
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const ids = tf.tidy(() => {
      const begin = images.shape.map((_, i) => (i === 0 ? start : 0));
      const part = images.slice(begin, [size, ...images.shape.slice(1)]);
      return tf.argMax(model.apply(part), -1); // [B, K] -> [B]
    });
    out.set(ids.dataSync() as Int32Array, start);
    ids.dispose();
  }
  return out;
}

/** Fraction of `predicted[i] === actual[i]`; both `[B]` class ids (arrays or tensors). */
export function classificationAccuracy(
  predicted: tf.Tensor | ArrayLike<number>,
  actual: tf.Tensor | ArrayLike<number>,
): number {
  const p = checkLabels(predicted, 'predicted');
  const a = checkLabels(actual, 'actual');
  if (p.length !== a.length || p.length === 0) {
    throw new Error(
      `actual: expected ${p.length} labels (as many as predicted, at least 1), got ${a.length}`,
    );
  }
  let right = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === a[i]) right++;
  return right / p.length;
}

/**
 * Confusion matrix: `m[actual][predicted]` counts the examples of class `actual` that were
 * predicted as class `predicted` (rows: true class, columns: prediction).
 * @param predicted `[B]` class ids in `[0, numClasses)`
 * @param actual `[B]` class ids in `[0, numClasses)`
 */
export function confusionMatrix(
  predicted: tf.Tensor | ArrayLike<number>,
  actual: tf.Tensor | ArrayLike<number>,
  numClasses: number,
): number[][] {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`numClasses: expected a positive integer, got ${String(numClasses)}`);
  }
  const p = checkLabels(predicted, 'predicted');
  const a = checkLabels(actual, 'actual');
  if (p.length !== a.length) {
    throw new Error(`actual: expected ${p.length} labels (as many as predicted), got ${a.length}`);
  }
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < p.length; i++) {
    for (const [name, v] of [
      ['predicted', p[i]],
      ['actual', a[i]],
    ] as const) {
      if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
        throw new RangeError(`${name}: expected class ids in [0, ${numClasses}), got ${v} at ${i}`);
      }
    }
    m[a[i]][p[i]]++;
  }
  return m;
}
