/**
 * Comparing tensors with a readable explanation: dtype, then shape, then values. Tests, graders
 * and notebook self-checks all use this one definition of "close enough".
 */
import * as tf from '@tensorflow/tfjs';
import { formatShape } from './shapes';

/** An expected value: a tensor, a (nested) number array, or a fixture-style `{shape, data}`. */
export type ExpectedTensor =
  | tf.Tensor
  | number
  | number[]
  | number[][]
  | number[][][]
  | number[][][][]
  | Float32Array
  | { shape: number[]; data: number[] };

/** Tolerances of `describeMismatch`. */
export interface CloseOptions {
  /** Absolute tolerance. Defaults to 1e-5. */
  atol?: number;
  /** Relative tolerance, scaled by |expected|. Defaults to 0. */
  rtol?: number;
  /** Also require the same dtype (when `expected` is a tensor). Defaults to true. */
  checkDtype?: boolean;
}

function toTensor(x: ExpectedTensor): tf.Tensor {
  if (x instanceof tf.Tensor) return x;
  if (typeof x === 'object' && x !== null && 'shape' in x && 'data' in x)
    return tf.tensor(x.data, x.shape);
  return tf.tensor(x as number[]);
}

/**
 * Explains how `actual` differs from `expected`, or returns `null` when they agree within
 * `atol + rtol * |expected|` (NaN matches only NaN).
 * @returns e.g. `"shape [2, 3] != expected [2, 4]"` or
 *   `"values differ at [1, 2]: got 0.5, expected 0.25 (|diff| 0.25 > tolerance 1e-5)"`
 */
export function describeMismatch(
  actual: unknown,
  expected: ExpectedTensor,
  opts: CloseOptions = {},
): string | null {
  const { atol = 1e-5, rtol = 0, checkDtype = true } = opts;
  if (!(actual instanceof tf.Tensor)) {
    const what =
      actual === null || actual === undefined
        ? String(actual)
        : Array.isArray(actual)
          ? 'an array'
          : typeof actual;
    return `expected a tf.Tensor, got ${what}`;
  }
  if (actual.isDisposed) return 'the tensor was already disposed';
  const exp = toTensor(expected);
  try {
    if (checkDtype && expected instanceof tf.Tensor && actual.dtype !== exp.dtype) {
      return `dtype ${actual.dtype} != expected ${exp.dtype}`;
    }
    if (
      actual.shape.length !== exp.shape.length ||
      (actual.shape as number[]).some((d, i) => d !== exp.shape[i])
    ) {
      return `shape ${formatShape(actual.shape)} != expected ${formatShape(exp.shape)}`;
    }
    const a = actual.dataSync();
    const e = exp.dataSync();
    let worst = -1;
    let worstExcess = -Infinity;
    for (let i = 0; i < e.length; i++) {
      const diff = Math.abs(a[i] - e[i]);
      if (Number.isNaN(a[i]) && Number.isNaN(e[i])) continue;
      const excess = Number.isNaN(diff) ? Infinity : diff - (atol + rtol * Math.abs(e[i]));
      if (excess > 0 && excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
    if (worst < 0) return null;
    const index: number[] = [];
    let rest = worst;
    for (let d = exp.shape.length - 1; d >= 0; d--) {
      index.unshift(rest % exp.shape[d]);
      rest = Math.floor(rest / exp.shape[d]);
    }
    const tolerance = atol + rtol * Math.abs(e[worst]);
    return (
      `values differ at ${formatShape(index)}: got ${a[worst]}, expected ${e[worst]} ` +
      `(|diff| ${Math.abs(a[worst] - e[worst]).toPrecision(3)} > tolerance ${tolerance.toPrecision(3)})`
    );
  } finally {
    if (exp !== expected) exp.dispose();
  }
}
