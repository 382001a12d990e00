/**
 * Golden values from PyTorch (see test/fixtures/README.md). Tensors are `{shape, data}`; linear
 * weights are already in our `[in, out]` layout.
 */
import * as tf from '@tensorflow/tfjs';
import raw from '../fixtures/torch-attention.json';
import { expectTensorsClose } from './tensors';

export type FixtureTensor = { shape: number[]; data: number[] };
export type FixtureValue = FixtureTensor | number[] | number[][] | number;

export interface FixtureCase {
  seed?: number;
  config?: Record<string, unknown>;
  inputs?: Record<string, FixtureValue>;
  params?: Record<string, FixtureTensor>;
  outputs: Record<string, FixtureTensor>;
  upstream?: FixtureTensor;
  grads?: Record<string, FixtureTensor | number>;
}

const cases = (raw as unknown as { cases: Record<string, FixtureCase> }).cases;

/** One fixture case by name; throws if the fixture file lacks it. */
export function fixture(name: string): FixtureCase {
  const c = cases[name];
  if (!c)
    throw new Error(`no fixture case named ${name}; regenerate test/fixtures/torch-attention.json`);
  return c;
}

/** Names of the fixture cases that start with `prefix`. */
export function fixtureNames(prefix: string): string[] {
  return Object.keys(cases).filter((n) => n.startsWith(prefix));
}

/** A fixture value as a tensor: `{shape, data}` keeps its shape, int lists become int32 valid lengths. */
export function ft(
  value: FixtureValue | undefined,
  dtype: 'float32' | 'int32' | 'bool' = 'float32',
): tf.Tensor {
  if (value === undefined) throw new Error('fixture value is missing');
  if (typeof value === 'number') return tf.scalar(value, dtype);
  if (!Array.isArray(value)) return tf.tensor(value.data, value.shape, dtype);
  return tf.tensor(value as number[], undefined, 'int32');
}

/**
 * Gradients of `sum(f() * upstream)` with respect to the given variables, by name, as tfjs
 * computes them (the fixtures hold PyTorch's for the same loss).
 */
export function gradsOfWeightedSum(
  f: () => tf.Tensor,
  upstream: FixtureTensor,
  vars: Record<string, tf.Variable>,
): Record<string, tf.Tensor> {
  const names = Object.keys(vars);
  const { value, grads } = tf.variableGrads(
    () => tf.tidy(() => tf.sum(tf.mul(f(), ft(upstream)))) as tf.Scalar,
    names.map((n) => vars[n]),
  );
  value.dispose();
  const byName: Record<string, tf.Tensor> = {};
  for (const n of names) byName[n] = grads[vars[n].name];
  return byName;
}

/** Asserts that every computed gradient equals the fixture's gradient of the same name (1e-5). */
export function expectFixtureGrads(grads: Record<string, tf.Tensor>, c: FixtureCase): void {
  for (const [name, grad] of Object.entries(grads)) {
    const expected = c.grads?.[name];
    if (expected === undefined) throw new Error(`fixture has no gradient named ${name}`);
    const value = typeof expected === 'number' ? tf.scalar(expected) : expected;
    expectTensorsClose(grad, value, { atol: 1e-5, rtol: 1e-5, label: `grad ${name}` });
  }
}
