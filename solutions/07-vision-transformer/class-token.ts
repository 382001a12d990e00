import * as tf from '@tensorflow/tfjs';

export function prependClassToken(
  tokens: tf.Tensor3D,
  classToken: tf.Tensor3D,
  positions: tf.Tensor3D,
): tf.Tensor3D {
  return tf.tidy(() => {
    const b = tokens.shape[0];
    const cls = tf.tile(classToken, [b, 1, 1]); // [1, 1, D] -> [B, 1, D]
    const seq = tf.concat([cls, tokens], 1); // [B, N+1, D]
    return tf.add(seq, positions) as tf.Tensor3D; // + [1, N+1, D]
  });
}
