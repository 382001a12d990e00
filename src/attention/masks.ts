/**
 * Mask builders. Convention used everywhere in the course: a boolean mask is `true` where a key
 * may be attended to ("keep") and `false` where it must get exactly zero weight.
 */
import * as tf from '@tensorflow/tfjs';
import { assertTensor, checkDtype, checkInt, formatShape } from '../core/shapes';

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

/**
 * Boolean mask from valid lengths: key `s` is kept when `s < validLens[b]` (or `validLens[b, t]`).
 * @param validLens `[B]` or `[B, T]`
 * @param queryLen `T`
 * @param keyLen `S`
 * @returns bool `[B, T, S]`
 */
export function validLensMask(validLens: tf.Tensor, queryLen: number, keyLen: number): tf.Tensor3D {
  checkInt(queryLen, 'queryLen');
  checkInt(keyLen, 'keyLen');
  assertTensor(validLens, 'validLens');
  const batch = validLens.shape[0];
  checkValidLens(validLens, batch, queryLen, keyLen);
  return tf.tidy(() => {
    // [B] -> [B, 1, 1] (same length for every query) or [B, T] -> [B, T, 1]
    const lens = validLens
      .toFloat()
      .reshape(validLens.rank === 1 ? [batch, 1, 1] : [batch, queryLen, 1]);
    const positions = tf.range(0, keyLen).reshape([1, 1, keyLen]); // [1, 1, S]
    return tf.less(positions, lens).broadcastTo([batch, queryLen, keyLen]) as tf.Tensor3D;
  });
}

/**
 * Causal (look-ahead) mask: query `t` may attend to key `s` only when `s <= t + (S - T)`. With
 * `S = T` this is the lower triangle; with `S > T` (keys cached from earlier steps) the last query
 * sees every key.
 * @returns bool `[T, S]`
 */
export function causalMask(queryLen: number, keyLen: number = queryLen): tf.Tensor2D {
  checkInt(queryLen, 'queryLen');
  checkInt(keyLen, 'keyLen');
  if (keyLen < queryLen) {
    throw new RangeError(`keyLen: expected S >= T = ${queryLen} for a causal mask, got ${keyLen}`);
  }
  return tf.tidy(() => {
    const t = tf.range(0, queryLen).reshape([queryLen, 1]); // [T, 1]
    const s = tf.range(0, keyLen).reshape([1, keyLen]); // [1, S]
    return tf.lessEqual(s, t.add(keyLen - queryLen)) as tf.Tensor2D;
  });
}

/** Logical AND of boolean masks with broadcasting (`undefined` entries are skipped). */
export function combineMasks(...masks: (tf.Tensor | undefined)[]): tf.Tensor | undefined {
  const present = masks.filter((m): m is tf.Tensor => m !== undefined);
  present.forEach((m, i) => {
    assertTensor(m, `masks[${i}]`);
    checkDtype(m, 'bool', `masks[${i}]`);
  });
  if (present.length === 0) return undefined;
  return tf.tidy(() =>
    present.slice(1).reduce((acc, m) => tf.logicalAnd(acc, m), present[0].clone()),
  );
}
