/**
 * Shape glossary, defined once for the whole course. Every shape tag in a comment, a JSDoc block
 * or an error message uses these letters:
 *
 * | letter | meaning |
 * |---|---|
 * | `B`  | batch size |
 * | `T`  | query (target) length |
 * | `S`  | key (source) length |
 * | `D`  | model width, `dModel` |
 * | `H`  | number of heads, `numHeads` |
 * | `Dh` | head width, `D / H` |
 * | `V`  | vocabulary size |
 * | `P`  | patch size |
 * | `N`  | number of patches |
 * | `L`  | maximum length (positional tables, padded batches) |
 * | `t`  | target positions decoded so far (the length of a decoder's key/value cache) |
 * | `Hi` | image height in pixels |
 * | `Wi` | image width in pixels |
 * | `C`  | number of image channels |
 * | `Gh` | patch grid height, `Hi / P` |
 * | `Gw` | patch grid width, `Wi / P` |
 * | `K`  | number of classes of a classifier |
 * | `F`  | feature maps (output channels) of a convolution |
 * | `Ho` | height of a convolution's output maps, `ceil(Hi / stride)` |
 * | `Wo` | width of a convolution's output maps, `ceil(Wi / stride)` |
 *
 * `H` always means heads and `D` always means model width; image and window code use the letters
 * above (or a named window such as `Dw`) so the two never collide.
 *
 * Other widths get a descriptive name in the tag (`Dq`, `Dk`, `Dv` for query, key and value
 * widths that may differ; `A` for the hidden width of additive attention; `Dff` for the hidden
 * width of the Transformer's feed-forward block).
 *
 * `checkShape` checks a tensor against such a tag and binds the letters, so that consistent sizes
 * across several arguments are checked with readable messages.
 */
import * as tf from '@tensorflow/tfjs';
import { describeValue } from './describe';
import { recordingGradient } from './op';

/** One dimension of an expected shape: a fixed size, a glossary letter to bind, or `null` (any). */
export type DimSpec = number | string | null;

/** Sizes bound to glossary letters by earlier `checkShape` calls, with the argument that bound them. */
export type BoundDims = Record<string, { size: number; boundBy: string }>;

/** Options for `checkShape`. */
export interface CheckShapeOptions {
  /** Letters bound by earlier checks; new letters are added to it. Defaults to a fresh record. */
  dims?: BoundDims;
  /** Allow dimensions of size 0 (an empty sequence). Defaults to `false`: empty inputs are errors. */
  allowEmpty?: boolean;
}

/** Formats a shape as `[2, 3, 4]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function formatSpec(spec: readonly DimSpec[]): string {
  return `[${spec.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/**
 * Throws unless `x` is a tf.Tensor. Use it first on every tensor argument, so that a plain array
 * or `undefined` gives a message that names the argument instead of a TypeError deep in tfjs.
 */
export function assertTensor(x: unknown, name: string): asserts x is tf.Tensor {
  if (!(x instanceof tf.Tensor)) {
    throw new TypeError(`${name}: expected a tf.Tensor, got ${describeValue(x)}`);
  }
  if (x.isDisposed) throw new Error(`${name}: the tensor has already been disposed`);
}

/**
 * Checks that `x` is a tensor whose shape matches `spec`, binding glossary letters in `dims`.
 *
 * ```ts
 * const dims = checkShape(query, ['B', 'T', 'D'], 'query');
 * checkShape(key, ['B', 'S', 'D'], 'key', { dims }); // B and D must agree with query's
 * ```
 *
 * Errors name the argument, the expected tag and the actual shape, e.g.
 * `key: expected shape [B, S, D] with D = 4 (from query), got [2, 5, 8]`.
 * @returns the bound letters (the same record as `options.dims` when given).
 */
export function checkShape(
  x: unknown,
  spec: readonly DimSpec[],
  name: string,
  options: CheckShapeOptions = {},
): BoundDims {
  assertTensor(x, name);
  const dims = options.dims ?? {};
  const shape = x.shape;
  if (shape.length !== spec.length) {
    throw new Error(
      `${name}: expected rank ${spec.length} ${formatSpec(spec)}, got rank ${shape.length} ` +
        `with shape ${formatShape(shape)}`,
    );
  }
  spec.forEach((d, i) => {
    const size = shape[i];
    if (size === 0 && !options.allowEmpty) {
      throw new Error(
        `${name}: expected a non-empty dimension ${d ?? i} in ${formatSpec(spec)}, ` +
          `got shape ${formatShape(shape)}`,
      );
    }
    if (typeof d === 'number' && size !== d) {
      throw new Error(
        `${name}: expected shape ${formatSpec(spec)}, got ${formatShape(shape)} ` +
          `(dimension ${i} should be ${d}, got ${size})`,
      );
    }
    if (typeof d === 'string') {
      const bound = dims[d];
      if (bound === undefined) {
        dims[d] = { size, boundBy: name };
      } else if (bound.size !== size) {
        throw new Error(
          `${name}: expected shape ${formatSpec(spec)} with ${d} = ${bound.size} ` +
            `(from ${bound.boundBy}), got ${formatShape(shape)}`,
        );
      }
    }
  });
  return dims;
}

/** Size of axis `axis` of `x` (negative counts from the end), as a plain number. */
export function dimOf(x: tf.Tensor, axis: number): number {
  const i = axis < 0 ? x.rank + axis : axis;
  if (i < 0 || i >= x.rank) {
    throw new RangeError(`axis: expected an axis of a rank-${x.rank} tensor, got ${axis}`);
  }
  return (x.shape as number[])[i];
}

/** Throws unless `x` has the expected dtype. */
export function checkDtype(
  x: tf.Tensor,
  expected: tf.DataType | tf.DataType[],
  name: string,
): void {
  const allowed = Array.isArray(expected) ? expected : [expected];
  if (!allowed.includes(x.dtype)) {
    throw new TypeError(`${name}: expected dtype ${allowed.join(' or ')}, got ${x.dtype}`);
  }
}

/** The setting of `setFiniteChecks`. */
let finiteChecks = true;
/** How many `withInputsChecked` calls are running: the checks are off while any is. */
let suspended = 0;

/**
 * Turns the NaN/Infinity checks on tensor arguments on or off (on by default). They read the
 * tensor's values where they enter the library, never while a gradient is recorded (the rule is
 * in `src/core/op.ts`), so training steps do not pay for them either way.
 */
export function setFiniteChecks(on: boolean): void {
  finiteChecks = on;
}

/** Whether NaN/Infinity checks are on (set on, and not inside `withInputsChecked`). */
export function finiteChecksEnabled(): boolean {
  return finiteChecks && suspended === 0;
}

/**
 * Runs `fn` with the NaN/Infinity checks off (shape checks still run). A layer calls it after
 * checking its own inputs, so that the functions it is built from do not read the same values,
 * or values computed from them, again: one read per input instead of one per inner call.
 * New code runs through `op()` (`src/core/op.ts`) instead, which skips every inner check.
 */
export function withInputsChecked<T>(fn: () => T): T {
  suspended++;
  try {
    return fn();
  } finally {
    suspended = Math.max(0, suspended - 1); // 0 after resetSuspendedChecks
  }
}

/**
 * Forgets `withInputsChecked` calls that never returned. A cell interrupted in tslab is
 * terminated, and `finally` blocks do not run, so without this the checks would stay off for
 * the rest of the session. `recoverFromInterrupt` calls it when it unwinds to the top level.
 */
export function resetSuspendedChecks(): void {
  suspended = 0;
}

/**
 * Throws if a float tensor holds NaN or +-Infinity (when finite checks are on), naming the
 * argument and the first bad position. `-Infinity` can be allowed for additive masks.
 * Reads nothing while a gradient is being recorded: a training step does not wait for a host
 * read on every call; the loss shows a NaN there (the rule is in `src/core/op.ts`).
 */
export function checkFinite(
  x: tf.Tensor,
  name: string,
  opts: { allowNegInf?: boolean } = {},
): void {
  if (!finiteChecksEnabled() || x.dtype !== 'float32' || recordingGradient()) return;
  const values = x.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v) || (opts.allowNegInf && v === -Infinity)) continue;
    throw new RangeError(
      `${name}: expected finite values, got ${v} at flat index ${i} of shape ${formatShape(x.shape)}`,
    );
  }
}

/** Throws unless `value` is an integer in `[min, max]`, naming the argument. */
export function checkInt(
  value: unknown,
  name: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new RangeError(`${name}: expected an integer ${range}, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws unless `value` is a finite number greater than `min` (exclusive), naming the argument. */
export function checkPositive(value: unknown, name: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= min) {
    throw new RangeError(`${name}: expected a finite number > ${min}, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Checks a tensor of rows over the last axis (scores or attention weights `[..., S]`): float32,
 * non-empty, finite. Throws naming `name`, what was expected and what it got.
 */
export function checkRows(x: tf.Tensor, name: string): void {
  assertTensor(x, name);
  checkDtype(x, 'float32', name);
  if (x.rank === 0 || x.size === 0) {
    throw new Error(
      `${name}: expected a non-empty tensor [..., S], got shape ${formatShape(x.shape)}`,
    );
  }
  checkFinite(x, name);
}
