/**
 * Reference answer to exercise 03.1: one GRU step with PyTorch's gate equations. See the exercise
 * file for the task.
 * @param x `[B, I]` the inputs of this step
 * @param h `[B, D]` the previous states
 * @param wX `[I, 3D]` input weights, gates r | z | n
 * @param wH `[D, 3D]` recurrent weights, gates r | z | n
 * @param bX `[3D]` input biases
 * @param bH `[3D]` recurrent biases
 * @returns the new states h' `[B, D]`
 */
import * as tf from '@tensorflow/tfjs';

export function gruStep(
  x: tf.Tensor2D,
  h: tf.Tensor2D,
  wX: tf.Tensor2D,
  wH: tf.Tensor2D,
  bX: tf.Tensor1D,
  bH: tf.Tensor1D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const xp = tf.add(tf.matMul(x, wX), bX); // [B, I] x [I, 3D] + [3D] -> [B, 3D]
    const hp = tf.add(tf.matMul(h, wH), bH); // [B, D] x [D, 3D] + [3D] -> [B, 3D]
    const [xR, xZ, xN] = tf.split(xp, 3, -1); // [B, 3D] -> 3 x [B, D]
    const [hR, hZ, hN] = tf.split(hp, 3, -1); // [B, 3D] -> 3 x [B, D]
    const r = tf.sigmoid(tf.add(xR, hR)); // [B, D]
    const z = tf.sigmoid(tf.add(xZ, hZ)); // [B, D]
    const n = tf.tanh(tf.add(xN, tf.mul(r, hN))); // the reset gate after W_hn h + b_hn
    return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h)) as tf.Tensor2D; // (1 - z) n + z h
  });
}
