/**
 * Exercise 06.2: the decoder's self-attention mask, causal plus padding (chapter 06, "The
 * Transformer").
 *
 * In the teacher-forced pass the decoder reads the whole target `[B, T]` at once, so its
 * self-attention must hide two kinds of keys from each query:
 * - the future: query position t may see key position s only when s <= t (causal);
 * - padding: in batch element b, key positions s >= tgtValidLens[b] are padding.
 *
 *   keep[b, t, s] = (s <= t) AND (s < tgtValidLens[b])
 *
 * The mask uses the course's convention: `true` where a key may be attended to. It has one row
 * per query and one column per key, for every batch element: `[B, T, S]` with `S = T`.
 * (A query row past the end, t >= tgtValidLens[b], still keeps key 0, so no row is empty.)
 *
 * Requirements: a bool tensor of shape `[B, T, T]`; no tensor is left behind (`tf.tidy`).
 * Tips: `tf.range(0, T, 1, 'int32')` gives the positions; reshape them to `[T, 1]` (queries,
 * rows) and `[1, T]` (keys, columns) and compare with `tf.lessEqual`; the lengths
 * `tgtValidLens.reshape([B, 1, 1])` broadcast against `[1, 1, T]` keys; `tf.logicalAnd`.
 *
 * @param tgtValidLens `[B]` int32, the real length of each target, in [1, T]
 * @param length `T`, the padded target length
 * @returns `[B, T, T]` bool: `true` where query t may attend to key s
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function decoderSelfMask(tgtValidLens: tf.Tensor1D, length: number): tf.Tensor3D {
  void [tf, tgtValidLens, length];
  return notImplemented('decoderSelfMask', 'exercises/06-transformer/decoder-mask.ts');
}
