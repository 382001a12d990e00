/**
 * Where a step's time goes: per-kernel wall time, kernel count and host reads, from one run of the
 * step under `tf.profile` (after a warm-up run). Used by `npm run bench -- profile <row>`.
 *
 * On the wasm and cpu backends kernels run synchronously, so a kernel's `kernelTimeMs` is its wall
 * time; the sum over kernels is the compute, and the rest of the step's wall time is JavaScript
 * overhead (op dispatch, the gradient tape, tidy bookkeeping).
 */
import * as tf from '@tensorflow/tfjs';

/** Time and count of one kernel name over a profiled step. */
export interface KernelTotal {
  name: string;
  calls: number;
  ms: number;
}

/** What one profiled run of a step did. */
export interface StepProfile {
  /** Wall time of the profiled run, ms (profiling itself adds a little). */
  wallMs: number;
  /** Sum of kernel times, ms. */
  kernelMs: number;
  /** Kernels executed. */
  kernels: number;
  /** Synchronous and asynchronous reads of tensor data back to JavaScript. */
  hostReads: number;
  /** Per kernel name, slowest first. */
  byKernel: KernelTotal[];
}

/** Counts `readSync`/`read` calls on the active backend while `fn` runs. */
function countHostReads<T>(fn: () => Promise<T>): Promise<{ result: T; reads: number }> {
  const backend = tf.backend() as unknown as Record<string, unknown>;
  let reads = 0;
  const wrapped: Array<[string, unknown]> = [];
  for (const name of ['readSync', 'read']) {
    const original = backend[name];
    if (typeof original !== 'function') continue;
    wrapped.push([name, original]);
    backend[name] = function (this: unknown, ...args: unknown[]) {
      reads++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
  const restore = (): void => {
    for (const [name, original] of wrapped) backend[name] = original;
  };
  return fn().then(
    (result) => {
      restore();
      return { result, reads };
    },
    (err: unknown) => {
      restore();
      throw err;
    },
  );
}

/**
 * Profiles one run of `step` (after one warm-up run). `step` must do the whole training step,
 * including any reads it needs; the tensors it returns are disposed.
 */
export async function profileStep(step: () => tf.TensorContainer | void): Promise<StepProfile> {
  tf.dispose(step() ?? []); // warm-up: kernel setup, weight packing
  const started = performance.now();
  const { result: info, reads } = await countHostReads(() => tf.profile(() => step() ?? undefined));
  const wallMs = performance.now() - started;
  tf.dispose(info.result);
  const totals = new Map<string, KernelTotal>();
  let kernelMs = 0;
  for (const k of info.kernels) {
    const t = await k.kernelTimeMs;
    const ms = typeof t === 'number' ? t : 0;
    kernelMs += ms;
    const entry = totals.get(k.name) ?? { name: k.name, calls: 0, ms: 0 };
    entry.calls++;
    entry.ms += ms;
    totals.set(k.name, entry);
  }
  return {
    wallMs,
    kernelMs,
    kernels: info.kernels.length,
    hostReads: reads,
    byKernel: [...totals.values()].sort((a, b) => b.ms - a.ms),
  };
}

/** The profile as text: a summary line and the `top` slowest kernels. */
export function formatProfile(title: string, p: StepProfile, top = 12): string {
  const lines = [
    `${title}: ${p.wallMs.toFixed(1)} ms wall, ${p.kernelMs.toFixed(1)} ms in ${p.kernels} kernels ` +
      `(${(p.wallMs - p.kernelMs).toFixed(1)} ms outside kernels), ${p.hostReads} host reads`,
  ];
  const width = Math.max(...p.byKernel.slice(0, top).map((k) => k.name.length), 6);
  for (const k of p.byKernel.slice(0, top)) {
    const share = p.kernelMs > 0 ? (100 * k.ms) / p.kernelMs : 0;
    lines.push(
      `  ${k.name.padEnd(width)} ${k.ms.toFixed(1).padStart(7)} ms ${share.toFixed(0).padStart(3)}%` +
        `  ${String(k.calls).padStart(5)} calls`,
    );
  }
  return lines.join('\n');
}
