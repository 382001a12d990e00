/**
 * The relative-position property of sinusoidal encodings (Vaswani et al., 2017, Section 3.5: "for
 * any fixed offset k, PE_{pos+k} can be represented as a linear function of PE_pos").
 *
 * Dimensions `2i` and `2i + 1` hold `sin(p w_i)` and `cos(p w_i)` with `w_i = 1 / 10000^(2i/D)`
 * (the interleaved layout of `sinusoidalEncoding`). Shifting the position by `k` rotates each such
 * pair by the angle `k w_i`, whatever `p` is:
 *
 *   [sin((p+k) w), cos((p+k) w)] = [sin(p w), cos(p w)] [[cos(k w), -sin(k w)], [sin(k w), cos(k w)]]
 *
 * so the whole row moves by one block-diagonal matrix `M_k`: `PE(p + k) = PE(p) M_k`.
 */
import * as tf from '@tensorflow/tfjs';
import { op } from '../core/op';
import { checkInt, checkShape, dimOf } from '../core/shapes';

/**
 * The `[D, D]` matrix `M_k` with `PE(p + k) = PE(p) M_k` for every position `p` (row vectors, the
 * interleaved sin/cos layout of `sinusoidalEncoding`): block `i` on the diagonal rotates the pair
 * `(2i, 2i + 1)` by `k / 10000^(2i/D)`. Computed in double precision, stored as float32.
 * @param offset `k`, any integer (negative shifts back)
 * @param dModel width `D` (even)
 * @returns `[D, D]`
 */
export function sinusoidalShiftMatrix(offset: number, dModel: number): tf.Tensor2D {
  checkInt(offset, 'offset', Number.MIN_SAFE_INTEGER);
  checkInt(dModel, 'dModel', 2);
  if (dModel % 2 !== 0) throw new RangeError(`dModel: expected an even width, got ${dModel}`);
  const m = new Float32Array(dModel * dModel);
  for (let i = 0; i < dModel; i += 2) {
    const theta = offset / Math.pow(10000, i / dModel);
    const [c, s] = [Math.cos(theta), Math.sin(theta)];
    m[i * dModel + i] = c; // sin-row, sin-column
    m[i * dModel + i + 1] = -s; // sin-row, cos-column
    m[(i + 1) * dModel + i] = s; // cos-row, sin-column
    m[(i + 1) * dModel + i + 1] = c; // cos-row, cos-column
  }
  return tf.tensor2d(m, [dModel, dModel]);
}

/**
 * How far a linear map is from shifting a positional table by `offset` rows: the largest
 * `|table[p + k, j] - (table[p] matrix)[j]|` over every position `p` with `p + k` in the table
 * (`p` from `max(0, -k)`), and every dimension `j`.
 * @param table `[L, D]`, e.g. `sinusoidalEncoding(L, D)`
 * @param offset `k`, with `|k| < L`
 * @param matrix `[D, D]`, e.g. `sinusoidalShiftMatrix(k, D)`
 * @returns the largest absolute difference (0 for an exact shift)
 */
export function maxShiftError(table: tf.Tensor, offset: number, matrix: tf.Tensor): number {
  const error = op(
    'maxShiftError',
    () => {
      const dims = checkShape(table, ['L', 'D'], 'table');
      checkShape(matrix, ['D', 'D'], 'matrix', { dims });
      const len = dims.L.size;
      checkInt(offset, 'offset', -(len - 1), len - 1);
    },
    () => {
      const [len, width] = [dimOf(table, 0), dimOf(table, 1)];
      const count = len - Math.abs(offset);
      const from = table.slice([Math.max(0, -offset), 0], [count, width]); // rows p: [L - |k|, D]
      const to = table.slice([Math.max(0, offset), 0], [count, width]); // rows p + k: [L - |k|, D]
      return tf.max(tf.abs(tf.sub(to, tf.matMul(from, matrix)))); // [L - |k|, D] x [D, D]
    },
  );
  const value = error.dataSync()[0];
  error.dispose();
  return value;
}
