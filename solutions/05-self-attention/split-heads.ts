/**
 * Reference answer to exercise 05.1: split and merge heads. See the exercise file for the task.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * @param x `[B, T, D]` with `D` a multiple of `numHeads`
 * @param numHeads `H`
 * @returns `[B, H, T, Dh]` with `Dh = D / H`
 */
export function splitHeads(x: tf.Tensor3D, numHeads: number): tf.Tensor4D {
  const [batch, len, width] = x.shape;
  return tf.tidy(
    () =>
      x
        .reshape([batch, len, numHeads, width / numHeads]) // [B, T, D] -> [B, T, H, Dh]
        .transpose([0, 2, 1, 3]) as tf.Tensor4D, // -> [B, H, T, Dh]
  );
}

/**
 * @param x `[B, H, T, Dh]`
 * @returns `[B, T, D]` with `D = H * Dh`
 */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [batch, heads, len, headDim] = x.shape;
  return tf.tidy(
    () =>
      x
        .transpose([0, 2, 1, 3]) // [B, H, T, Dh] -> [B, T, H, Dh]
        .reshape([batch, len, heads * headDim]) as tf.Tensor3D, // -> [B, T, D]
  );
}
