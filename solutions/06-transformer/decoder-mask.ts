/**
 * Exercise 06.2: the decoder's self-attention mask, causal plus padding (reference answer).
 *
 *   keep[b, t, s] = (s <= t) AND (s < tgtValidLens[b])
 *
 * @param tgtValidLens `[B]` int32, the real length of each target, in [1, T]
 * @param length `T`, the padded target length
 * @returns `[B, T, T]` bool: `true` where query t may attend to key s
 */
import * as tf from '@tensorflow/tfjs';

export function decoderSelfMask(tgtValidLens: tf.Tensor1D, length: number): tf.Tensor3D {
  return tf.tidy(() => {
    const pos = tf.range(0, length, 1, 'int32');
    const causal = tf.lessEqual(pos.reshape([1, length]), pos.reshape([length, 1])); // keys [1, T] <= queries [T, 1] -> [T, T]
    const batch = tgtValidLens.shape[0];
    const real = tf.less(pos.reshape([1, 1, length]), tgtValidLens.reshape([batch, 1, 1])); // keys [1, 1, T] < lens [B, 1, 1] -> [B, 1, T]
    return tf.logicalAnd(causal.expandDims(0), real) as tf.Tensor3D; // [1, T, T] and [B, 1, T] -> [B, T, T]
  });
}
