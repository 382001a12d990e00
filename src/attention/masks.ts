/**
 * The mask vocabulary of every attention function and layer, and the mask builders.
 *
 * Convention used everywhere in the course: a boolean mask is `true` where a key may be attended
 * to ("keep") and `false` where it must get exactly zero weight.
 */
import * as tf from '@tensorflow/tfjs';
import { op } from '../core/op';
import { assertTensor, checkDtype, checkFinite, checkInt, formatShape } from '../core/shapes';

/**
 * Which keys each query may see: the options every attention entry point accepts
 * (`maskedSoftmax`, `attentionPooling`, `scaledDotProductAttention`, the scoring layers' `apply`,
 * `MultiHeadAttention.apply`, `LocalPAttention.apply`). All optional; a key is kept only when
 * every option given keeps it (AND). Scores are `[B, T, S]`, or `[B, H, T, S]` with heads.
 */
export interface AttentionMaskOptions {
  /**
   * Key padding. `[B]`: in batch element `b`, only the first `validLens[b]` keys are real, the
   * rest are padding; or `[B, T]`: one length per query, `validLens[b, t]`. Integers in `[0, S]`
   * (int32, or integral float32).
   */
  validLens?: tf.Tensor;
  /** Hide future keys: query `t` sees key `s` only when `s <= t + (S - T)` (needs `S >= T`). */
  causal?: boolean;
  /**
   * A mask broadcastable to the scores `[B, T, S]`: bool (`true` = keep), or float additive, whose
   * `-Infinity` entries hide keys and whose finite entries are added to the scores. With heads,
   * a mask of rank 3 or less means the same and applies to every head; a rank-4 mask is
   * broadcast to `[B, H, T, S]`.
   */
  mask?: tf.Tensor;
}

/**
 * Checks `validLens` (`[B]` or `[B, T]`, int32 or integral float32) against the batch size `B`,
 * the query length `T` and the key length `S`: every entry must be an integer in `[0, S]`.
 */
export function checkValidLens(
  validLens: unknown,
  batch: number,
  queryLen: number,
  keyLen: number,
  name = 'validLens',
): tf.Tensor {
  assertTensor(validLens, name);
  checkDtype(validLens, ['int32', 'float32'], name);
  const shape = validLens.shape;
  const ok =
    (shape.length === 1 && shape[0] === batch) ||
    (shape.length === 2 && shape[0] === batch && shape[1] === queryLen);
  if (!ok) {
    throw new Error(
      `${name}: expected shape [B] = [${batch}] or [B, T] = [${batch}, ${queryLen}], ` +
        `got ${formatShape(shape)}`,
    );
  }
  const values = validLens.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v > keyLen) {
      throw new RangeError(
        `${name}: expected integers in [0, S] = [0, ${keyLen}], got ${v} at index ${i}`,
      );
    }
  }
  return validLens;
}

/** The scores' shape a mask of rank `maskRank` is matched with: `[B, T, S]` also under heads. */
function withoutHeads(scoresShape: readonly number[], maskRank: number): readonly number[] {
  return scoresShape.length === 4 && maskRank <= 3
    ? [scoresShape[0]!, scoresShape[2]!, scoresShape[3]!] // [B, H, T, S] -> [B, T, S]
    : scoresShape;
}

function broadcastable(mask: tf.Tensor, target: readonly number[]): boolean {
  if (mask.rank > target.length) return false;
  const offset = target.length - mask.rank;
  return mask.shape.every((d, i) => d === 1 || d === target[offset + i]);
}

/**
 * Checks mask options against the shape of the scores they will mask, `[B, T, S]` or
 * `[B, H, T, S]`. Errors name the option the caller used (`validLens: ...`, `causal: ...`,
 * `mask: ...`).
 */
export function checkMaskOptions(opts: unknown, scoresShape: readonly number[]): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(
      `options: expected an object { validLens?, causal?, mask? }, got ${opts === null ? 'null' : typeof opts}`,
    );
  }
  const { validLens, causal, mask } = opts as AttentionMaskOptions;
  const rank = scoresShape.length;
  const [queryLen, keyLen] = scoresShape.slice(-2);
  if (validLens !== undefined) {
    if (rank !== 3 && rank !== 4) {
      throw new Error(
        `validLens: needs scores [B, T, S] or [B, H, T, S], got ${formatShape(scoresShape)} (use mask instead)`,
      );
    }
    checkValidLens(validLens, scoresShape[0], queryLen, keyLen);
  }
  if (causal !== undefined) {
    if (typeof causal !== 'boolean') {
      throw new TypeError(`causal: expected true or false, got ${typeof causal}`);
    }
    if (causal && keyLen < queryLen) {
      throw new RangeError(
        `causal: needs at least as many keys as queries (S >= T), got T = ${queryLen}, S = ${keyLen}`,
      );
    }
  }
  if (mask !== undefined) {
    assertTensor(mask, 'mask');
    checkDtype(mask, ['bool', 'float32'], 'mask');
    const target = withoutHeads(scoresShape, mask.rank);
    if (!broadcastable(mask, target)) {
      throw new Error(
        `mask: expected a shape broadcastable to the scores ${formatShape(target)}, ` +
          `got ${formatShape(mask.shape)}`,
      );
    }
    checkFinite(mask, 'mask', { allowNegInf: true });
  }
}

/**
 * The keep-mask (and any additive bias) that mask options define for scores of shape
 * `scoresShape` (`[B, T, S]` or `[B, H, T, S]`): the AND of every option given. Expects options
 * already checked by `checkMaskOptions`.
 * @returns `keep`: bool broadcastable to the scores, `undefined` when nothing is hidden;
 *   `bias`: float to add to the scores, from a float `mask`
 */
export function attentionMask(
  opts: AttentionMaskOptions,
  scoresShape: readonly number[],
): { keep?: tf.Tensor; bias?: tf.Tensor } {
  const { validLens, causal, mask } = opts;
  const rank = scoresShape.length;
  const [queryLen, keyLen] = scoresShape.slice(-2);
  let userKeep: tf.Tensor | undefined;
  let bias: tf.Tensor | undefined;
  if (mask !== undefined) {
    // under heads, a mask for [B, T, S] applies to every head: [B, T, S] -> [B, 1, T, S]
    const m = rank === 4 && mask.rank <= 3 ? headless(mask) : mask;
    userKeep = m.dtype === 'bool' ? m : tf.notEqual(m, -Infinity);
    if (m.dtype !== 'bool') bias = tf.where(userKeep, m, tf.zerosLike(m));
  }
  const keep = combineMasks(
    validLens && keyPaddingMask(validLens, keyLen, rank === 4 ? 4 : 3),
    causal ? causalMask(queryLen, keyLen) : undefined, // [T, S] broadcasts over [B] and [B, H]
    userKeep,
  );
  return { keep, bias };
}

/** A mask broadcastable to `[B, T, S]`, as `[B, 1, T, S]` (or `[1, 1, T, S]`) for every head. */
function headless(mask: tf.Tensor): tf.Tensor {
  const padded = mask.reshape([...Array<number>(3 - mask.rank).fill(1), ...mask.shape]); // -> rank 3
  return padded.expandDims(1); // [B, T, S] -> [B, 1, T, S]
}

/**
 * Which positions of padded sequences are real: position `l` of sequence `b` is kept when
 * `l < validLens[b]` (TensorFlow's `sequence_mask`). For padding keys, embeddings or loss terms;
 * attention code uses `keyPaddingMask`, shaped for the scores.
 * @param validLens `[B]` (or `[B, T]`), integers in `[0, L]`
 * @param length `L`, the padded length
 * @returns bool `[B, L]` (or `[B, T, L]`)
 */
export function sequenceMask(validLens: tf.Tensor, length: number): tf.Tensor {
  return op(
    'sequenceMask',
    () => {
      checkInt(length, 'length');
      assertTensor(validLens, 'validLens');
      checkValidLens(validLens, validLens.shape[0]!, validLens.shape[1] ?? 1, length);
    },
    () => {
      const lens = validLens.toFloat().expandDims(-1); // [B] -> [B, 1] (or [B, T] -> [B, T, 1])
      return tf.less(tf.range(0, length), lens); // [L] vs [B, 1] -> [B, L]
    },
  );
}

/**
 * Key-padding mask from valid lengths, shaped to broadcast against attention scores: key `s` is
 * kept when `s < validLens[b]` (or `validLens[b, t]`).
 * @param validLens `[B]` or `[B, T]`, integers in `[0, S]`
 * @param keyLen `S`
 * @param scoresRank 3 for scores `[B, T, S]` (default), 4 for multi-head scores `[B, H, T, S]`
 * @returns bool `[B, 1, S]` (`[B, T, S]` for per-query lengths); with `scoresRank` 4,
 *   `[B, 1, 1, S]` (`[B, 1, T, S]`)
 */
export function keyPaddingMask(validLens: tf.Tensor, keyLen: number, scoresRank = 3): tf.Tensor {
  return op(
    'keyPaddingMask',
    () => {
      checkInt(keyLen, 'keyLen');
      if (scoresRank !== 3 && scoresRank !== 4) {
        throw new RangeError(`scoresRank: expected 3 or 4, got ${scoresRank}`);
      }
      assertTensor(validLens, 'validLens');
      checkValidLens(validLens, validLens.shape[0], validLens.shape[1] ?? 1, keyLen);
    },
    () => {
      const [batch, queryLen = 1] = validLens.shape as number[];
      const heads = scoresRank === 4 ? [1] : [];
      // [B, S] -> [B, 1, S] (one length for every query; [B, T, S] as is), [B, 1, ...] for heads
      return sequenceMask(validLens, keyLen).reshape([batch, ...heads, queryLen, keyLen]);
    },
  );
}

/**
 * Boolean mask from valid lengths, expanded to every query: key `s` is kept when
 * `s < validLens[b]` (or `validLens[b, t]`). `keyPaddingMask` gives the same mask without the
 * copies, shaped to broadcast.
 * @param validLens `[B]` or `[B, T]`
 * @param queryLen `T`
 * @param keyLen `S`
 * @returns bool `[B, T, S]`
 */
export function validLensMask(validLens: tf.Tensor, queryLen: number, keyLen: number): tf.Tensor3D {
  return op(
    'validLensMask',
    () => {
      checkInt(queryLen, 'queryLen');
      checkInt(keyLen, 'keyLen');
      assertTensor(validLens, 'validLens');
      checkValidLens(validLens, validLens.shape[0], queryLen, keyLen);
    },
    () =>
      keyPaddingMask(validLens, keyLen).broadcastTo([
        validLens.shape[0],
        queryLen,
        keyLen,
      ]) as tf.Tensor3D, // [B, 1 or T, S] -> [B, T, S]
  );
}

/**
 * Causal (look-ahead) mask: query `t` may attend to key `s` only when `s <= t + (S - T)`. With
 * `S = T` this is the lower triangle; with `S > T` (keys cached from earlier steps) the last query
 * sees every key.
 * @returns bool `[T, S]`
 */
export function causalMask(queryLen: number, keyLen: number = queryLen): tf.Tensor2D {
  return op(
    'causalMask',
    () => {
      checkInt(queryLen, 'queryLen');
      checkInt(keyLen, 'keyLen');
      if (keyLen < queryLen) {
        throw new RangeError(
          `keyLen: expected S >= T = ${queryLen} for a causal mask, got ${keyLen}`,
        );
      }
    },
    () => {
      const t = tf.range(0, queryLen).reshape([queryLen, 1]); // [T, 1]
      const s = tf.range(0, keyLen).reshape([1, keyLen]); // [1, S]
      return tf.lessEqual(s, t.add(keyLen - queryLen)) as tf.Tensor2D;
    },
  );
}

/** Logical AND of boolean masks with broadcasting (`undefined` entries are skipped). */
export function combineMasks(...masks: (tf.Tensor | undefined)[]): tf.Tensor | undefined {
  const present = masks.filter((m): m is tf.Tensor => m !== undefined);
  if (present.length === 0) return undefined;
  return op(
    'combineMasks',
    () =>
      present.forEach((m, i) => {
        assertTensor(m, `masks[${i}]`);
        checkDtype(m, 'bool', `masks[${i}]`);
      }),
    () => present.slice(1).reduce((acc, m) => tf.logicalAnd(acc, m), present[0].clone()),
  );
}
