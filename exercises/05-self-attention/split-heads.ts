/**
 * Exercise 05.1: split and merge heads (chapter 05, "Self-attention, multi-head attention and
 * positional encoding").
 *
 * Multi-head attention projects the inputs once with `[D, D]` matrices, then cuts the feature
 * axis into `H` heads of width `Dh = D / H`: head `h` owns the features `[h * Dh, (h + 1) * Dh)`.
 * Every head then attends on its own, so the heads must become a batch-like axis in front of the
 * positions:
 *
 *   splitHeads:  [B, T, D] -> [B, T, H, Dh] -> [B, H, T, Dh]     (reshape, then transpose)
 *   mergeHeads:  [B, H, T, Dh] -> [B, T, H, Dh] -> [B, T, D]     (transpose, then reshape)
 *
 * `mergeHeads(splitHeads(x, H))` must give back `x` exactly.
 *
 * Common mistakes:
 * - reshaping `[B, T, D]` straight to `[B, H, T, Dh]`: the shape is right but each "head" then
 *   holds a block of positions and features mixed up. Reshape to `[B, T, H, Dh]` first (a
 *   reshape keeps the order of the elements), then swap the axes T and H
 *   (`x.transpose([0, 2, 1, 3])`);
 * - in `mergeHeads`, reshaping before transposing back: transpose `[B, H, T, Dh] -> [B, T, H, Dh]`
 *   first, then reshape to `[B, T, D]`;
 * - reshaping to `[B, T, Dh, H]`: then head `h` gets every H-th feature (h, h + H, ...), not a
 *   contiguous slice.
 * Use `tf.tidy` (or plain chained ops: reshape and transpose leave nothing behind).
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

/**
 * @param x `[B, T, D]` with `D` a multiple of `numHeads`
 * @param numHeads `H`
 * @returns `[B, H, T, Dh]` with `Dh = D / H`
 */
export function splitHeads(x: tf.Tensor3D, numHeads: number): tf.Tensor4D {
  void [x, numHeads];
  return notImplemented('splitHeads', 'exercises/05-self-attention/split-heads.ts');
}

/**
 * @param x `[B, H, T, Dh]`
 * @returns `[B, T, D]` with `D = H * Dh`
 */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  void x;
  return notImplemented('mergeHeads', 'exercises/05-self-attention/split-heads.ts');
}
