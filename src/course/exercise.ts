/**
 * What exercise stubs throw until the learner writes their answer, and how graded tests name the
 * mistake a wrong answer shows (`diagnoseWeights`).
 */
import * as tf from '@tensorflow/tfjs';

/** Thrown by an exercise stub that has not been written yet. Graders score it as 0, never as a crash. */
export class NotImplementedError extends Error {
  constructor(
    readonly exercise: string,
    readonly file: string,
  ) {
    super(`${exercise} is not implemented yet: write your answer in ${file}`);
    this.name = 'NotImplementedError';
  }
}

/**
 * Throws a `NotImplementedError` naming the exercise and the file to edit. Stubs call it as their
 * whole body: `return notImplemented('maskedSoftmax', 'exercises/02-scoring-functions/masked-softmax.ts');`
 */
export function notImplemented(exercise: string, file: string): never {
  throw new NotImplementedError(exercise, file);
}

/** A wrong answer that feedback can recognise: what it would return, and what to tell the learner. */
export interface KnownMistake {
  /** What the mistaken computation returns for the same inputs (made inside the caller's tidy). */
  result: () => tf.Tensor;
  /** Names the mistake and what to change, e.g. "your weights match softmax(Q K^T) without scaling: ...". */
  message: string;
}

/** Options of `diagnoseWeights`. */
export interface DiagnoseWeightsOptions {
  /** What the last axis holds, for messages: "keys" (the default) or "items". */
  over?: string;
  /** Mistakes to recognise, tried in order after the shape and NaN checks. */
  mistakes?: KnownMistake[];
  /** Said when the answer has NaN or Infinity where the right weights are finite. */
  nonFinite?: string;
  /** Tolerance when comparing with a mistake. Defaults to 1e-4. */
  atol?: number;
}

const where = (index: number[]): string => `[${index.join(', ')}]`;

/** The index of flat position `i` in a tensor of `shape`. */
function unravel(i: number, shape: number[]): number[] {
  const index: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return index;
}

/** Sums of `data` (of `shape`) along `axis`, keyed by the index of the other axes. */
function sumsAlong(data: ArrayLike<number>, shape: number[], axis: number): Map<string, number> {
  const sums = new Map<string, number>();
  for (let i = 0; i < data.length; i++) {
    const index = unravel(i, shape);
    index.splice(axis, 1);
    const key = where(index);
    sums.set(key, (sums.get(key) ?? 0) + data[i]);
  }
  return sums;
}

const fmt = (x: number): string => String(Number(x.toPrecision(4)));

/**
 * Looks at attention weights `got` (rows along the last axis) next to the right weights
 * `expected` and names the mistake they show, with numbers: a transposed shape, NaN or Infinity,
 * a known mistake of the caller's list (wrong scale, mask ignored, ...), negative weights,
 * normalisation along the wrong axis, or rows that do not sum to what they should ("rows must
 * sum to 1 over the keys: row [0, 1] sums to 2.7"). Returns `undefined` when `got` is not a
 * tensor of a comparable shape, is right, or shows none of these; then the plain "values
 * differ" message is the best feedback.
 * @param got the learner's weights (anything; only tensors are examined)
 * @param expected the right weights, same shape
 */
export function diagnoseWeights(
  got: unknown,
  expected: tf.Tensor,
  opts: DiagnoseWeightsOptions = {},
): string | undefined {
  if (!(expected instanceof tf.Tensor) || expected.rank < 1) {
    throw new TypeError(
      `diagnoseWeights: expected must be a tf.Tensor of rank >= 1, got ${expected instanceof tf.Tensor ? `rank ${expected.rank}` : typeof expected}`,
    );
  }
  if (!(got instanceof tf.Tensor) || got.isDisposed) return undefined;
  const over = opts.over ?? 'keys';
  const atol = opts.atol ?? 1e-4;
  const want = expected.shape;
  const shape = got.shape;
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (!same(shape, want)) {
    const r = want.length;
    const swapped = [...want.slice(0, r - 2), want[r - 1], want[r - 2]];
    if (r >= 2 && want[r - 1] !== want[r - 2] && same(shape, swapped)) {
      return (
        `the shape ${where(shape)} is the expected ${where(want)} with the last two axes swapped: ` +
        `put one row per query and one column per ${over.replace(/s$/, '')} (the ${over} last)`
      );
    }
    return undefined;
  }
  return tf.tidy(() => {
    const a = got.dataSync();
    const e = expected.dataSync();
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]) && Number.isFinite(e[i])) {
        return (
          `weight ${where(unravel(i, shape))} is ${a[i]} (expected ${fmt(e[i])})` +
          (opts.nonFinite ? `: ${opts.nonFinite}` : '')
        );
      }
    }
    let right = true;
    for (let i = 0; i < a.length && right; i++)
      right = Math.abs(a[i] - e[i]) <= atol + 1e-4 * Math.abs(e[i]);
    if (right) return undefined;
    for (const m of opts.mistakes ?? []) {
      const wrong = m.result();
      if (!same(wrong.shape, shape)) continue;
      const w = wrong.dataSync();
      let match = true;
      for (let i = 0; i < a.length && match; i++)
        match = Math.abs(a[i] - w[i]) <= atol + 1e-4 * Math.abs(w[i]);
      if (match) return m.message;
    }
    for (let i = 0; i < a.length; i++) {
      if (a[i] < -1e-6) {
        return `weight ${where(unravel(i, shape))} is ${fmt(a[i])}: attention weights are never negative`;
      }
    }
    const last = shape.length - 1;
    const gotSums = sumsAlong(a, shape, last);
    const wantSums = sumsAlong(e, shape, last);
    for (const [row, s] of wantSums) {
      const g = gotSums.get(row) ?? NaN;
      if (Math.abs(g - s) <= 1e-3) continue;
      for (let axis = 0; axis < last; axis++) {
        if (shape[axis] === 1) continue;
        const other = sumsAlong(a, shape, axis);
        if ([...other.values()].every((v) => Math.abs(v - 1) <= 1e-3)) {
          return (
            `your weights sum to 1 along axis ${axis} (size ${shape[axis]}), not along the last ` +
            `axis (the ${over}): normalise over axis -1, e.g. tf.softmax(x) or tf.sum(e, -1, true)`
          );
        }
      }
      return s === 0
        ? `row ${row} must be all zeros (it has no valid ${over.replace(/s$/, '')}), but it sums to ${fmt(g)}`
        : `rows must sum to ${fmt(s)} over the ${over} (the last axis): row ${row} sums to ${fmt(g)}`;
    }
    return undefined;
  });
}
