/**
 * Test helpers: compare tensors (dtype, then shape, then values) with a readable diff, check for
 * tensor leaks, and check gradients against central finite differences.
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { describeMismatch, type CloseOptions, type ExpectedTensor } from '../../src/core/compare';

export interface ExpectCloseOptions extends CloseOptions {
  /** What is compared, for the message. */
  label?: string;
}

/**
 * Asserts that `actual` equals `expected` within `atol + rtol * |expected|` (default atol 1e-5),
 * checking dtype (when `expected` is a tensor), then shape, then values; the message shows the
 * worst element.
 */
export function expectTensorsClose(
  actual: tf.Tensor,
  expected: ExpectedTensor,
  opts: ExpectCloseOptions = {},
): void {
  const mismatch = describeMismatch(actual, expected, opts);
  if (mismatch !== null) assert.fail(`${opts.label ?? 'tensor'}: ${mismatch}`);
}

/**
 * Runs `fn` and asserts that it leaves no new tensors behind (variables created and disposed
 * inside count too). Returns what `fn` returned.
 */
export async function expectNoLeak<T>(fn: () => T | Promise<T>, label = 'fn'): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `${label} leaked ${after - before} tensor(s)`);
  return result;
}

export interface GradCheckOptions {
  /** Step of the central difference. Defaults to 1e-2 (float32 needs a large step). */
  eps?: number;
  /** Tolerance on |analytic - numeric|, absolute plus relative to |numeric|. Defaults to 1e-3. */
  tol?: number;
  label?: string;
}

/**
 * Compares `tf.grads(f)` with central finite differences `(f(x + e) - f(x - e)) / 2e` for every
 * element of every input. `f` must return a scalar. Keep inputs tiny: this costs 2 calls per element.
 */
export function checkGradients(
  f: (...xs: tf.Tensor[]) => tf.Scalar,
  inputs: tf.Tensor[],
  opts: GradCheckOptions = {},
): void {
  const { eps = 1e-2, tol = 1e-3, label = 'gradient' } = opts;
  const analytic = tf.tidy(() =>
    tf
      .grads(f)(inputs)
      .map((g) => g.dataSync() as Float32Array),
  );
  inputs.forEach((x, k) => {
    const base = x.dataSync().slice();
    const grad = analytic[k];
    for (let i = 0; i < base.length; i++) {
      const at = (delta: number): number =>
        tf.tidy(() => {
          const values = base.slice();
          values[i] += delta;
          const shifted = inputs.map((y, j) => (j === k ? tf.tensor(values, x.shape) : y));
          return f(...shifted).dataSync()[0];
        });
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      const diff = Math.abs(grad[i] - numeric);
      assert.ok(
        diff <= tol * (1 + Math.abs(numeric)),
        `${label}: d/d input${k}[${i}]: analytic ${grad[i]} vs finite difference ${numeric} (|diff| ${diff})`,
      );
    }
  });
}

/**
 * Like `checkGradients`, for the trainable variables a scalar function reads: compares
 * `tf.variableGrads(f)` with central differences obtained by nudging each variable element in place.
 */
export function checkVariableGradients(
  f: () => tf.Scalar,
  vars: tf.Variable[],
  opts: GradCheckOptions = {},
): void {
  const { eps = 1e-2, tol = 1e-3, label = 'gradient' } = opts;
  const { value, grads } = tf.variableGrads(f, vars);
  value.dispose();
  for (const v of vars) {
    const analytic = grads[v.name].dataSync();
    const base = v.dataSync().slice();
    const at = (i: number, delta: number): number => {
      const values = base.slice();
      values[i] += delta;
      tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
      return tf.tidy(() => f().dataSync()[0]);
    };
    try {
      for (let i = 0; i < base.length; i++) {
        const numeric = (at(i, eps) - at(i, -eps)) / (2 * eps);
        const diff = Math.abs(analytic[i] - numeric);
        assert.ok(
          diff <= tol * (1 + Math.abs(numeric)),
          `${label}: d/d ${v.name}[${i}]: analytic ${analytic[i]} vs finite difference ${numeric} (|diff| ${diff})`,
        );
      }
    } finally {
      tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
    }
  }
  tf.dispose(grads);
}
