import * as tf from '@tensorflow/tfjs';

export function attentionRollout(attention: tf.Tensor4D[]): tf.Tensor3D {
  return tf.tidy(() => {
    const len = attention[0].shape[2];
    let rollout: tf.Tensor | null = null;
    for (const a of attention) {
      const mean = tf.mean(a, 1); // [B, H, T, T] -> [B, T, T]
      const withResidual = tf.add(mean, tf.eye(len)); // + I
      const layer = tf.div(withResidual, tf.sum(withResidual, -1, true)); // rows sum to 1
      rollout = rollout === null ? layer : tf.matMul(layer, rollout); // R = A_l R
    }
    return rollout as tf.Tensor3D;
  });
}
