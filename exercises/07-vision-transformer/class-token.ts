/**
 * Exercise 07.2: the class token and the position embeddings (chapter 07, "the Vision Transformer").
 *
 * After the patch embedding, a ViT puts one learned vector, the class token, in FRONT of every
 * sequence of patch tokens (the classifier reads its final state), and adds a learned position
 * embedding to every token, the class token included (row 0 of `positions` is the class token's).
 *
 * Requirements:
 * - `tokens` `[B, N, D]`, `classToken` `[1, 1, D]`, `positions` `[1, N+1, D]`; the result is
 *   `[B, N+1, D]`: out[b, 0] = classToken + positions[0], out[b, n+1] = tokens[b, n] + positions[n+1];
 * - the same class token for every image of the batch;
 * - no tensor is left behind besides the result.
 * Tips: `tf.tile(classToken, [B, 1, 1])` (or `tf.broadcastTo`) gives `[B, 1, D]`;
 * `tf.concat([a, b], 1)` joins along the sequence axis; `positions` broadcasts over the batch.
 *
 * @returns `[B, N+1, D]`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function prependClassToken(
  tokens: tf.Tensor3D,
  classToken: tf.Tensor3D,
  positions: tf.Tensor3D,
): tf.Tensor3D {
  void [tokens, classToken, positions, tf];
  return notImplemented('prependClassToken', 'exercises/07-vision-transformer/class-token.ts');
}
