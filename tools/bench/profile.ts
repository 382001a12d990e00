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
  /** The matrix products (`BatchMatMul`, `_FusedMatMul`): floating-point operations and time. */
  products: ProductTotal;
}

/** Arithmetic of a step's matrix products. */
export interface ProductTotal {
  calls: number;
  /** Floating-point operations, `2 M K N` per slice. */
  flops: number;
  ms: number;
  /**
   * The fastest rate (FLOP per ms) of any one product of at least 1 MFLOP in the step, or 0: a
   * rate the backend reached on this machine, on this step's own shapes.
   */
  bestRate: number;
}

/** Kernels that are matrix products. */
const PRODUCT_KERNELS = new Set([tf.BatchMatMul, tf._FusedMatMul]);

/**
 * Floating-point operations of one matrix product, from its shapes alone: `2 M K N` per output
 * slice, where the output is `[..., M, N]` and `a`'s last two axes hold `M K` values (whether or
 * not `a` is transposed).
 * @param aShape shape of the first operand, rank >= 2.
 * @param outShape shape of the product, rank >= 2.
 */
export function productFlops(aShape: readonly number[], outShape: readonly number[]): number {
  if (aShape.length < 2 || outShape.length < 2) {
    throw new Error(
      `productFlops: expected operand and output shapes of rank >= 2, got [${aShape.join(', ')}] and [${outShape.join(', ')}]`,
    );
  }
  const M = outShape[outShape.length - 2];
  const K = M === 0 ? 0 : (aShape[aShape.length - 1] * aShape[aShape.length - 2]) / M;
  return 2 * outShape.reduce((n, d) => n * d, 1) * K;
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
  const products: ProductTotal = { calls: 0, flops: 0, ms: 0, bestRate: 0 };
  let kernelMs = 0;
  for (const k of info.kernels) {
    const t = await k.kernelTimeMs;
    const ms = typeof t === 'number' ? t : 0;
    kernelMs += ms;
    if (PRODUCT_KERNELS.has(k.name) && k.inputShapes[0] && k.outputShapes[0]) {
      const flops = productFlops(k.inputShapes[0], k.outputShapes[0]);
      products.calls++;
      products.flops += flops;
      products.ms += ms;
      if (flops >= 1e6 && ms > 0) products.bestRate = Math.max(products.bestRate, flops / ms);
    }
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
    products,
  };
}

/**
 * The products' arithmetic as text, and the floor it sets: the time the step's products alone
 * would take if every one ran at the fastest rate any of them reached.
 */
export function formatProducts(p: StepProfile): string {
  const { calls, flops, ms, bestRate } = p.products;
  if (calls === 0) return 'matrix products: none';
  const gflops = (perMs: number): string => (perMs / 1e6).toFixed(1);
  const lines = [
    `matrix products: ${calls} calls, ${(flops / 1e9).toFixed(2)} GFLOP in ${ms.toFixed(1)} ms ` +
      `(${gflops(ms > 0 ? flops / ms : 0)} GFLOP/s on average)`,
  ];
  if (bestRate > 0) {
    lines.push(
      `floor: at the fastest rate one of these products reached (${gflops(bestRate)} GFLOP/s), ` +
        `the products alone would take ${(flops / bestRate).toFixed(1)} ms; the other kernels ` +
        `took ${(p.kernelMs - ms).toFixed(1)} ms`,
    );
  }
  return lines.join('\n');
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
