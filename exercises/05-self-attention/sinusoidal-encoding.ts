/**
 * Exercise 05.2: sinusoidal positional encoding (chapter 05, "Self-attention, multi-head attention
 * and positional encoding").
 *
 * The Transformer adds to the embedding of position `pos` a fixed vector of sines and cosines
 * (Vaswani et al., 2017, Section 3.5), for `i = 0, 1, ..., D/2 - 1`:
 *
 *   P[pos, 2i]     = sin(pos / 10000^(2i / D))
 *   P[pos, 2i + 1] = cos(pos / 10000^(2i / D))
 *
 * This course uses the paper's **interleaved** layout, as the library's `sinusoidalEncoding` and
 * PyTorch tutorials do: even dimensions hold sines, odd dimensions the cosines of the same
 * frequency. (Some code, e.g. tensor2tensor, puts all sines in the first half and all cosines in
 * the second half: the same information in another column order, which this test rejects.)
 *
 * Common mistakes:
 * - the halves layout above, or sin and cos swapped (cos in the even dimensions);
 * - the exponent `d / D` for dimension `d` instead of `2i / D` with `i = floor(d / 2)`: the sine
 *   and the cosine of a pair must share one frequency;
 * - computing `Math.pow(10000, ...)` with integer division, or `pos * 10000^(2i/D)` instead of
 *   dividing.
 * Plain JavaScript loops filling a `Float32Array` are fine (then `tf.tensor2d(values, [L, D])`).
 *
 * @param maxLen `L`, the number of positions (0, 1, ..., L - 1)
 * @param dModel `D`, even
 * @returns `[L, D]` float32
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function sinusoidalEncoding(maxLen: number, dModel: number): tf.Tensor2D {
  void [maxLen, dModel];
  return notImplemented('sinusoidalEncoding', 'exercises/05-self-attention/sinusoidal-encoding.ts');
}
