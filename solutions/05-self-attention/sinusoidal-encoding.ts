/**
 * Reference answer to exercise 05.2: sinusoidal positional encoding. See the exercise file for
 * the task.
 * @param maxLen `L`, the number of positions (0, 1, ..., L - 1)
 * @param dModel `D`, even
 * @returns `[L, D]` float32
 */
import * as tf from '@tensorflow/tfjs';

export function sinusoidalEncoding(maxLen: number, dModel: number): tf.Tensor2D {
  const values = new Float32Array(maxLen * dModel);
  for (let pos = 0; pos < maxLen; pos++) {
    for (let i = 0; i < dModel; i += 2) {
      // i is the even dimension 2i of the formula: the pair (i, i + 1) shares one frequency
      const angle = pos / Math.pow(10000, i / dModel);
      values[pos * dModel + i] = Math.sin(angle);
      values[pos * dModel + i + 1] = Math.cos(angle);
    }
  }
  return tf.tensor2d(values, [maxLen, dModel]);
}
