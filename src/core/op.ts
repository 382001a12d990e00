/**
 * `op()`: the one wrapper every public attention and core function runs through, in the spirit of
 * tfjs-core's `op()`. It keeps argument checks out of the math:
 *
 * - **Checks once, at the outermost call.** `checks` runs only when no other `op` is running. A
 *   layer checks its caller's arguments, and the functions it is built from (a `Linear`, a masked
 *   softmax, ...) run their math without checking again: their inputs were made by the library
 *   from values already checked.
 * - **Names the function.** An error thrown by the checks or by the math (a tfjs kernel error
 *   included) is prefixed once with the outermost function's name, as the caller wrote it:
 *   `MultiHeadAttention.apply: validLens: expected shape [B] = [2] ..., got [3]`.
 * - **Tidies.** The math runs in `tf.tidy`, so intermediates are freed and only the result is kept.
 *
 * **Where finiteness is checked (the rule).** NaN and Infinity are looked for where values enter
 * the library from outside: the tensor arguments of an outermost call, `setWeights`, loaded
 * checkpoints. Not inside the math, and not while a gradient is being recorded (inside `tf.grad`,
 * `tf.variableGrads`, `optimizer.minimize`): a training step would otherwise read its inputs back
 * to the host on every step. There a NaN shows up in the loss, and the training loop reports the
 * step where the loss became NaN. Shape, dtype and mask-length checks (small, or no, reads) still
 * run at the outermost call of a training step. Measured with `npm run bench -- backend`: see the
 * "finite checks on" row.
 */
import * as tf from '@tensorflow/tfjs';

/** How many `op` calls are running (0 outside the library). */
let depth = 0;

/** Whether the current call is the outermost library call (its arguments come from the caller). */
export function isOutermostOp(): boolean {
  return depth === 0;
}

/**
 * Forgets `op` calls that never returned (a tslab cell interrupted inside one is terminated, and
 * its `finally` never runs), so the next call checks its arguments again.
 * `recoverFromInterrupt` calls it when it unwinds to the top level.
 */
export function resetOpDepth(): void {
  depth = 0;
}

/** Whether a gradient is being recorded (inside `tf.grad`, `tf.variableGrads`, ...). */
export function recordingGradient(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

function withName(err: unknown, name: string): unknown {
  if (err instanceof Error && !err.message.startsWith(`${name}: `)) {
    err.message = `${name}: ${err.message}`;
    // V8 captured the old message in the stack; keep the two consistent.
    if (typeof err.stack === 'string') err.stack = `${err.name}: ${err.message}${stackFrames(err)}`;
  }
  return err;
}

function stackFrames(err: Error): string {
  const stack = err.stack ?? '';
  const firstFrame = stack.indexOf('\n    at ');
  return firstFrame === -1 ? '' : stack.slice(firstFrame);
}

/**
 * Runs one public library function: `checks` (only at the outermost call), then `compute` in
 * `tf.tidy`; errors get the function's `name`.
 *
 * ```ts
 * export function dotScores(query: tf.Tensor, key: tf.Tensor): tf.Tensor3D {
 *   return op('dotScores', () => checkQueryKey(query, key), () =>
 *     tf.matMul(query, key, false, true) as tf.Tensor3D, // [B, T, D] x [B, S, D]^T -> [B, T, S]
 *   );
 * }
 * ```
 * @param name the function as the caller knows it (`maskedSoftmax`, `Linear.apply`)
 * @param checks throws on a bad argument, naming it; skipped when called from another op
 * @param compute the math; tensors it returns are kept, the rest are freed
 */
export function op<R extends tf.TensorContainer>(
  name: string,
  checks: () => void,
  compute: () => R,
): R {
  if (depth > 0) return tf.tidy(compute);
  depth++;
  try {
    checks();
    return tf.tidy(compute);
  } catch (err) {
    throw withName(err, name);
  } finally {
    depth = Math.max(0, depth - 1); // 0 after resetOpDepth
  }
}
