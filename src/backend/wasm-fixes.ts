/**
 * Kernel-level fixes that make training practical on the WASM backend of TensorFlow.js 4.x.
 *
 * Why kernels and not ops or gradients: a kernel is what every caller ends up in (our own code,
 * `tf.layers`, the gradients tfjs registers for `matMul`), so one registration fixes the forward and
 * the backward pass everywhere, and no gradient is overridden globally.
 *
 * 1. `BatchMatMul` and `_FusedMatMul` (see `installWasmMatMulFix`). The stock wasm kernel uses
 *    XNNPACK only for a plain 2-D product (no transpose flag, batch 1 on both sides); everything
 *    else runs a naive loop that is 10-20x slower. Backprop of every matMul sets a transpose flag,
 *    so training ran at the slow speed. The wrappers rewrite each call into fast 2-D products:
 *    explicit transposes, a flattened batch when the weight is shared, a loop over batch slices;
 *    batches of small slices (attention heads) run in the course's own SIMD loops instead
 *    (`small-matmul.ts`), which read transposed operands in place.
 * 2. Kernels wasm does not have at all (see `installWasmMissingKernels`): the gradient of
 *    `tf.gather` (embeddings) and of conv2d / depthwise conv2d weights. The depthwise ones are
 *    delegated to the cpu backend's kernels (`delegateToCpu`), which turns an error into a result.
 *    Two get their own implementation, because the cpu kernels' algorithms are too slow to train with
 *    (measured, one gradient: embedding [1000, 128] from 16x64 ids 12 s; 3x3 conv2d filter on
 *    8x32x32x16 5 s): `UnsortedSegmentSum` as a scatter-add, `Conv2DBackpropFilter` as the
 *    transposed patch matrix times the output gradient.
 * 3. `Slice`, `SplitV` and `Unpack` (see `installWasmSliceFix`). The stock kernels copy the WHOLE
 *    input out of the wasm heap for every slice they cut, so `tf.unstack` of a `[S, B, G]` tensor
 *    (a recurrent layer's per-step inputs) copies it `S` times: measured 490 ms for
 *    `[24, 128, 192]`, under load. The replacements copy only the slice, straight from the heap.
 * 4. `Tanh`, `Exp`, `Tile`, `Transpose`, `Sum`, `GatherV2`, `Conv2DBackpropInput` (see
 *    `installWasmFastKernels`): stock kernels that are 3-100x slower than they need to be and that a
 *    training step calls often (the tanh of additive attention and GRU cells, the GELU gradient, a
 *    broadcast mask, the heads of attention split and merged, the bias gradients, the input
 *    gradient of a convolutional stem). Found with `npm run bench -- profile <row>`.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  fusedMultiplyAddActive,
  heapOffset,
  smallBatchMatMul,
  smallMatMulLoops,
  tiledMatMul,
} from './small-matmul';

type TensorInfo = tf.TensorInfo;
type KernelArgs = Parameters<tf.KernelFunc>[0];

const WASM = 'wasm';
const MATMUL_KERNELS = [tf.BatchMatMul, tf._FusedMatMul] as const;

/**
 * Kernels that exist on the cpu backend but not on wasm (tfjs 4.22) and that training needs:
 * `UnsortedSegmentSum` is the gradient of `tf.gather` (so of every embedding layer), the others
 * are the weight and input gradients of `conv2d` and `depthwiseConv2d`.
 */
export const MISSING_WASM_KERNELS: readonly string[] = [
  tf.UnsortedSegmentSum,
  tf.Conv2DBackpropFilter,
  tf.DepthwiseConv2dNativeBackpropFilter,
  tf.DepthwiseConv2dNativeBackpropInput,
];

/**
 * Below this many multiply-adds per batch slice (M * K * N), a batched product stays in the stock
 * kernel's loop: the per-slice overhead of the fast path (allocations, packing the slice's weights
 * for XNNPACK) would cost more than it saves. Measured on a 2-core x86 machine: 256 slices of
 * 16x16x16 are 1.3x slower through the loop, 128 of 16x32x16 break even, 64 of 32x32x32 are 3x
 * faster, 8 of 256x256x256 are 15x faster.
 */
const MIN_SLICE_WORK = 8192;

/**
 * Below this many multiply-adds per batch slice, a batched product without bias runs in the
 * course's SIMD loops (`small-matmul.ts`) instead of the stock loop or the slice loop. Measured
 * on a 2-core x86 machine, ms per product: 256 slices of 25x25x8 0.27 against 1.5 (stock loop),
 * 64 of 32x32x32 0.44 against 2.9 (slice loop), 32 of 64x64x64 1.3 against 1.2 to 1.6 (even),
 * 8 of 128x128x128 3.4 against 1.8 (XNNPACK's blocking wins).
 */
const MAX_SMALL_LOOP_WORK = 262_144;

/**
 * Products without a transposed B that have at most this many rows (or whose A is transposed,
 * whatever their size) run in the course's tiled SIMD loop (`tiledMatMul`) rather than XNNPACK,
 * which needs a transposed A copied and packs B anew on every call. Measured 2026-12-03 on a
 * 2-core x86 machine, ms per product (XNNPACK path -> tiled): weight gradients `X^T dY`
 * `[64, 1088]^T x [1088, 192]` 3.0 -> 1.6, `[128, 1024]^T x [1024, 384]` 7.6 -> 4.1,
 * `[64, 3072]^T x [3072, 192]` 10.1 -> 3.3; few rows `[9, 12544] x [12544, 16]` 1.5 -> 0.4,
 * `[128, 128] x [128, 384]` 1.1 -> 0.7; with many rows XNNPACK is as fast or faster
 * (`[1024, 128] x [128, 512]` 5.6 against 6.2, `[1024, 128] x [128, 65]` 0.77 against 1.0).
 * With fused multiply-adds (`fusedMultiplyAddActive()`, Relaxed SIMD) the tiled loop is faster
 * at every size, and takes every such product: best of 12, XNNPACK -> tiled fused, `[1024, 128]
 * x [128, 512]` 4.6 -> 4.1, `[1024, 512] x [512, 128]` 5.5 -> 3.7, `[512, 512] x [512, 512]`
 * 8.8 -> 8.2, `[128, 128] x [128, 384]` 0.41 -> 0.32 (the tiled loop without fusing: 11.0, 0.40).
 */
const MAX_TILED_ROWS = 512;

/** Original wasm matMul kernels while the fix is installed, to restore them exactly. */
let savedMatMulKernels: Map<string, tf.KernelConfig> | null = null;
/** The kernel functions this module registered, to recognise its own registrations. */
const ourKernelFuncs = new WeakSet<tf.KernelFunc>();
/** Missing kernels this module registered. */
const installedMissing = new Set<string>();
/** Original wasm slicing kernels while the slice fix is installed, to restore them exactly. */
let savedSliceKernels: Map<string, tf.KernelConfig> | null = null;
/** The kernels `installWasmSliceFix` replaces. */
const SLICE_KERNELS = [tf.Slice, tf.SplitV, tf.Unpack] as const;

/**
 * Shape `[K, N]` under which a tensor buffer was last used as the weight `b` of a 2-D XNNPACK
 * product. The stock kernel caches its packed XNNPACK operator by the weight's buffer id alone, and
 * `tf.reshape` keeps the buffer: using a reshaped weight again makes the cached operator read with
 * the old shape, which aborts the whole WebAssembly instance. A weight seen under a new shape is
 * therefore passed as a copy (a fresh buffer, a fresh cache entry).
 */
const weightShapes = new WeakMap<object, string>();

function getKernelOrNull(kernelName: string, backendName: string): tf.KernelConfig | null {
  // tf.getKernel is typed as always returning a config, but returns undefined when none exists.
  return (tf.getKernel(kernelName, backendName) as tf.KernelConfig | undefined) ?? null;
}

/** Loads `@tensorflow/tfjs-backend-wasm`, which registers the wasm kernels, if nobody has yet. */
function ensureWasmKernelsRegistered(): void {
  if (getKernelOrNull(tf.BatchMatMul, WASM) !== null) return;
  // Loaded lazily so that importing this module changes nothing in the tfjs registry.
  require('@tensorflow/tfjs-backend-wasm');
  if (getKernelOrNull(tf.BatchMatMul, WASM) === null) {
    throw new Error(
      'wasm fixes: expected @tensorflow/tfjs-backend-wasm to register the wasm kernels on the ' +
        'same @tensorflow/tfjs as this course, got no BatchMatMul kernel (two copies of ' +
        '@tensorflow/tfjs-core installed? run `npm ls @tensorflow/tfjs-core`)',
    );
  }
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function single(result: TensorInfo | TensorInfo[], kernelName: string): TensorInfo {
  if (Array.isArray(result)) {
    if (result.length !== 1) {
      throw new Error(`${kernelName}: expected one output, got ${result.length}`);
    }
    return result[0];
  }
  return result;
}

/** A new wasm tensor holding a copy of `x`'s values, under `shape` (same size). */
function copyOf(backend: BackendWasm, x: TensorInfo, shape: number[] = x.shape): TensorInfo {
  const out = backend.makeOutput(shape, x.dtype);
  // Views are taken after the allocation: growing the wasm heap detaches older views.
  backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x));
  return out;
}

/** `x` with its last two axes swapped, as a new wasm tensor (the wasm Transpose kernel). */
function transposeLastTwo(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  const transpose = getKernelOrNull(tf.Transpose, WASM);
  if (transpose === null) {
    throw new Error('wasm matMul fix: expected a wasm Transpose kernel, got none');
  }
  return single(transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }), tf.Transpose);
}

function describeOperand(x: TensorInfo, transposed: boolean): string {
  return `[${x.shape.join(', ')}]${transposed ? ' (transposed)' : ''}`;
}

interface MatMulInputs extends tf.NamedTensorInfoMap {
  a: TensorInfo;
  b: TensorInfo;
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
}

type MatMulAttrs = tf.NamedAttrMap & { transposeA: boolean; transposeB: boolean };

/**
 * The body of the `BatchMatMul` / `_FusedMatMul` wrappers: rewrites one call into products the
 * stock kernel runs through XNNPACK, and calls `original` for each.
 */
function fastMatMul(original: tf.KernelFunc, args: KernelArgs, kernelName: string): TensorInfo {
  const backend = args.backend as BackendWasm;
  const inputs = args.inputs as MatMulInputs;
  const attrs = (args.attrs ?? {}) as MatMulAttrs;
  const { a, b } = inputs;
  const runOriginal = (overrides: Partial<MatMulInputs>, flags: MatMulAttrs): TensorInfo =>
    single(original({ inputs: { ...inputs, ...overrides }, backend, attrs: flags }), kernelName);

  // Shapes the stock kernel handles its own way (or rejects with its own message) go through.
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
    return runOriginal({}, attrs);
  }
  const transposeA = attrs.transposeA === true;
  const transposeB = attrs.transposeB === true;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [M, Ka] = transposeA
    ? [a.shape[ra - 1], a.shape[ra - 2]]
    : [a.shape[ra - 2], a.shape[ra - 1]];
  const [Kb, N] = transposeB
    ? [b.shape[rb - 1], b.shape[rb - 2]]
    : [b.shape[rb - 2], b.shape[rb - 1]];
  if (Ka !== Kb) {
    throw new Error(
      `${kernelName}: expected the inner dimensions to match, got a ${describeOperand(a, transposeA)} ` +
        `with K = ${Ka} and b ${describeOperand(b, transposeB)} with K = ${Kb}`,
    );
  }
  const K = Ka;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batchOut = tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  const nA = sizeOf(batchA);
  const nB = sizeOf(batchB);
  const nOut = sizeOf(batchOut);
  const outShape = [...batchOut, M, N];
  const bias = inputs.bias;
  // PReLU weights may broadcast over batch dimensions, which neither a flattened batch nor slices
  // keep; a bias of rank > 1 is rejected by the stock kernel with its own message.
  const reshapeSafe =
    inputs.preluActivationWeights == null && (bias == null || bias.shape.length === 1);

  // The stock loop adds a bias wrongly (the bias index runs over the whole output slice, not the
  // columns: measured |error| ~1 against cpu), so a fused product with a bias takes the slice loop
  // whatever its size. Anything else the fast paths cannot express (general batch broadcasting,
  // PReLU weights, tiny slices) stays in the stock kernel: its loop is as slow with transpose
  // flags as without, so transposing would not pay.
  const plainProduct =
    kernelName === tf.BatchMatMul && bias == null && inputs.preluActivationWeights == null;
  // (Batches that broadcast both ways stay in the stock kernel, which pairs flat batch indices.)
  const simpleBatch = (nA === nOut || nA === 1) && (nB === nOut || nB === 1);
  if (K === 1 && plainProduct && simpleBatch && M * N > 0) {
    // An outer product per batch: [..., M, 1] * [..., 1, N] in the Multiply kernel, which
    // broadcasts the batch too. With K = 1 a transposed operand has the same memory layout.
    const multiply = getKernelOrNull(tf.Multiply, WASM);
    if (multiply !== null) {
      const column: TensorInfo = { dataId: a.dataId, shape: [...batchA, M, 1], dtype: a.dtype };
      const row: TensorInfo = { dataId: b.dataId, shape: [...batchB, 1, N], dtype: b.dtype };
      const out = single(
        multiply.kernelFunc({ inputs: { a: column, b: row }, backend, attrs: {} }),
        tf.Multiply,
      );
      out.shape = outShape;
      return out;
    }
  }
  const sharedWeight = nB === 1 && reshapeSafe;
  const work = M * K * N;
  if (
    !sharedWeight &&
    plainProduct &&
    simpleBatch &&
    work < MAX_SMALL_LOOP_WORK &&
    nOut * work > 0
  ) {
    // Small slices (attention heads) in the course's SIMD loops, transposes read in place; null
    // where they cannot run (no SIMD, both operands transposed).
    const dims = { nA, nB, nOut, M, K, N, outShape };
    const out = smallBatchMatMul(backend, a, b, transposeA, transposeB, dims);
    if (out !== null) return out;
  }
  // A shared weight under a batch of plain A is one product of all the rows: [nA * M, K] x [K, N].
  const rows = sharedWeight && !transposeA ? nA * M : M;
  // (The loops may be unavailable on this heap, without SIMD: no copy of B for nothing.)
  const fused = fusedMultiplyAddActive() && smallMatMulLoops(backend) !== null;
  if (
    plainProduct &&
    simpleBatch &&
    (!transposeB || (fused && !transposeA)) &&
    nOut * work > 0 &&
    (transposeA || rows <= MAX_TILED_ROWS || fused)
  ) {
    // Weight gradients and products with few rows in the course's tiled SIMD loop (A read in
    // place, B not packed); with fused multiply-adds every product, a transposed B (the input
    // gradient dY W^T) copied once first, as XNNPACK packs it. null where the loop cannot run
    // (no SIMD).
    const dims =
      rows === M
        ? { nA, nB, nOut, M, K, N, outShape }
        : { nA: 1, nB: 1, nOut: 1, M: rows, K, N, outShape };
    const b2 = transposeB ? transposeLastTwo(backend, b) : b;
    try {
      const out = tiledMatMul(backend, a, b2, transposeA, false, dims);
      if (out !== null) return out;
    } finally {
      if (b2 !== b) backend.disposeData(b2.dataId);
    }
  }
  const bigSlices = work >= MIN_SLICE_WORK || bias != null;
  const sliceable = reshapeSafe && (nA === nB || nA === 1) && nB === nOut && bigSlices;
  if (!sharedWeight && !sliceable) return runOriginal({}, attrs);

  const plain: MatMulAttrs = { ...attrs, transposeA: false, transposeB: false };
  if (nOut * M * N === 0) return backend.makeOutput(outShape, 'float32');
  if (K === 0 && reshapeSafe)
    return emptySumProduct(backend, runOriginal, plain, nOut * M, N, outShape);

  const temps: TensorInfo[] = [];
  try {
    // A transpose is one cheap copy; the flags would send the product to the slow loop.
    const a2 = transposeA ? transposeLastTwo(backend, a) : a;
    if (a2 !== a) temps.push(a2);
    const b2 = transposeB ? transposeLastTwo(backend, b) : b;
    if (b2 !== b) temps.push(b2);

    if (sharedWeight) {
      // [...batch, M, K] x [K, N]: one [batch * M, K] x [K, N] product. Reshaping is free: the
      // TensorInfos share the buffer (the stock kernel balances the refcounts itself).
      const flatA: TensorInfo = { dataId: a2.dataId, shape: [1, nA * M, K], dtype: a2.dtype };
      const weight = weightFor(backend, b2, K, N, temps);
      const out = runOriginal({ a: flatA, b: weight }, plain);
      out.shape = outShape;
      return out;
    }
    return sliceLoop(backend, runOriginal, plain, a2, b2, { nA, nOut, M, K, N, outShape });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** A new wasm tensor of zeros. */
function zeros(backend: BackendWasm, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(out).fill(0); // fresh wasm memory is not zeroed
  return out;
}

/**
 * A product with K = 0: every sum is empty, so the result is 0 (then bias and activation). XNNPACK
 * rejects K = 0 and the stock kernel then returns uninitialised memory; a product of zeros with
 * K = 1 gives the right result through the same kernel, bias and activation included.
 */
function emptySumProduct(
  backend: BackendWasm,
  runOriginal: (overrides: Partial<MatMulInputs>, flags: MatMulAttrs) => TensorInfo,
  plain: MatMulAttrs,
  rows: number,
  N: number,
  outShape: number[],
): TensorInfo {
  const a = zeros(backend, [1, rows, 1]);
  const b = zeros(backend, [1, 1, N]);
  try {
    const out = runOriginal({ a, b }, plain);
    out.shape = outShape;
    return out;
  } finally {
    backend.disposeData(a.dataId);
    backend.disposeData(b.dataId);
  }
}

/**
 * The weight `b` as a `[1, K, N]` TensorInfo for a 2-D product, copied when its buffer was used
 * before under another shape (see `weightShapes`); a copy is added to `temps`.
 */
function weightFor(
  backend: BackendWasm,
  b: TensorInfo,
  K: number,
  N: number,
  temps: TensorInfo[],
): TensorInfo {
  const key = `${K}x${N}`;
  const seen = weightShapes.get(b.dataId);
  if (seen === undefined || seen === key) {
    weightShapes.set(b.dataId, key);
    return { dataId: b.dataId, shape: [1, K, N], dtype: b.dtype };
  }
  const copy = copyOf(backend, b, [1, K, N]);
  temps.push(copy);
  return copy;
}

interface SliceDims {
  nA: number;
  nOut: number;
  M: number;
  K: number;
  N: number;
  outShape: number[];
}

/**
 * A batched product as a loop of 2-D XNNPACK products, one per batch slice. Each slice of `b`
 * gets a fresh buffer, because XNNPACK caches the packed weights by buffer id; the slice of `a`
 * (not cached) reuses one buffer.
 */
function sliceLoop(
  backend: BackendWasm,
  runOriginal: (overrides: Partial<MatMulInputs>, flags: MatMulAttrs) => TensorInfo,
  plain: MatMulAttrs,
  a: TensorInfo,
  b: TensorInfo,
  { nA, nOut, M, K, N, outShape }: SliceDims,
): TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  const sizeA = M * K;
  const sizeB = K * N;
  const sizeOut = M * N;
  const sliceA =
    nA === 1
      ? { dataId: a.dataId, shape: [1, M, K], dtype: a.dtype }
      : backend.makeOutput([1, M, K], 'float32');
  try {
    for (let i = 0; i < nOut; i++) {
      const sliceB = backend.makeOutput([1, K, N], 'float32');
      try {
        if (nA !== 1) {
          const src = backend.typedArrayFromHeap(a);
          backend.typedArrayFromHeap(sliceA).set(src.subarray(i * sizeA, (i + 1) * sizeA));
        }
        const srcB = backend.typedArrayFromHeap(b);
        backend.typedArrayFromHeap(sliceB).set(srcB.subarray(i * sizeB, (i + 1) * sizeB));
        const part = runOriginal({ a: sliceA, b: sliceB }, plain);
        try {
          backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(part), i * sizeOut);
        } finally {
          backend.disposeData(part.dataId);
        }
      } finally {
        backend.disposeData(sliceB.dataId);
      }
    }
  } catch (err) {
    backend.disposeData(out.dataId);
    throw err;
  } finally {
    if (nA !== 1) backend.disposeData(sliceA.dataId);
  }
  return out;
}

function wrapMatMul(original: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) =>
    fastMatMul(original.kernelFunc, args, original.kernelName);
  ourKernelFuncs.add(kernelFunc);
  // setupFunc/disposeFunc are kept: the engine calls them on every switch to the wasm backend,
  // and the original kernel needs its setup (it binds the C++ function).
  return { ...original, kernelFunc };
}

function replaceKernel(config: tf.KernelConfig): void {
  // Registering over an existing kernel only warns and keeps the old one.
  if (getKernelOrNull(config.kernelName, config.backendName) !== null) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

/**
 * Replaces the wasm `BatchMatMul` and `_FusedMatMul` kernels with wrappers that send every product
 * they can to XNNPACK's fast 2-D path:
 * - transpose flags (every matMul gradient sets one) become an explicit transpose then a plain
 *   product: 512^3 goes from ~1-3 to ~25-35 GFLOP/s;
 * - `[..., M, K] x [K, N]` (a shared weight) becomes one `[... * M, K] x [K, N]` product;
 * - other batched products with slices of at least 8192 multiply-adds (attention scores, etc.)
 *   become a loop of 2-D products instead of the stock kernel's naive loop;
 * - a fused product with a bias never reaches the stock loop, which adds the bias at wrong
 *   positions (tfjs 4.22: wrong results for `tf.fused.matMul` with a bias and a transpose flag or
 *   a batch);
 * - an inner dimension K = 0 gives zeros (plus bias) instead of uninitialised memory;
 * - an inner dimension K = 1 (a batch of outer products, e.g. the gradient of attention weights
 *   times values for one query) becomes one broadcasting Multiply: 2 ms -> 0.14 ms for
 *   `[128, 24, 1] x [128, 1, 128]`, which the stock loop ran with a transpose flag.
 *
 * The results equal the stock kernel's up to float32 summation order. Idempotent; the wasm backend
 * need not be active. Undo with `uninstallWasmMatMulFix`.
 */
export function installWasmMatMulFix(): void {
  ensureWasmKernelsRegistered();
  if (savedMatMulKernels !== null) return;
  const saved = new Map<string, tf.KernelConfig>();
  for (const name of MATMUL_KERNELS) {
    const config = getKernelOrNull(name, WASM);
    if (config === null) {
      throw new Error(`installWasmMatMulFix: expected a wasm kernel ${name}, got none`);
    }
    saved.set(name, config);
  }
  for (const config of saved.values()) replaceKernel(wrapMatMul(config));
  savedMatMulKernels = saved;
}

/**
 * Restores the wasm matMul kernels that `installWasmMatMulFix` replaced (the very same configs).
 * Does nothing when the fix is not installed. Used by the benchmark to measure the difference.
 */
export function uninstallWasmMatMulFix(): void {
  if (savedMatMulKernels === null) return;
  for (const config of savedMatMulKernels.values()) replaceKernel(config);
  savedMatMulKernels = null;
}

/** Whether the registered wasm `BatchMatMul` kernel is this module's wrapper. */
export function wasmMatMulFixInstalled(): boolean {
  const current = getKernelOrNull(tf.BatchMatMul, WASM);
  return current !== null && ourKernelFuncs.has(current.kernelFunc);
}

/**
 * A wasm kernel that runs the cpu backend's kernel of the same name: it copies the inputs from the
 * wasm heap into the cpu backend, runs the cpu kernel with the same attributes, copies the outputs
 * back into new wasm tensors and frees every cpu temporary. Slower than a native kernel (two copies
 * and plain JavaScript), but correct by construction: it is the reference implementation.
 */
export function delegateToCpu(kernelName: string): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const wasmBackend = backend as BackendWasm;
    const cpuKernel = getKernelOrNull(kernelName, 'cpu');
    const cpuBackend = tf.engine().findBackend('cpu') as tf.KernelBackend | null;
    if (cpuKernel === null || cpuBackend === null) {
      throw new Error(
        `${kernelName} on wasm: expected to delegate to the cpu backend's kernel, got ` +
          (cpuBackend === null ? 'no cpu backend' : `no cpu kernel named ${kernelName}`),
      );
    }
    silenceCpuNodeHint(cpuBackend);
    const cpuIds = new Set<tf.DataId>();
    try {
      const cpuInputs: tf.NamedTensorInfoMap = {};
      for (const [name, info] of Object.entries(inputs)) {
        if (info == null) continue; // optional inputs (e.g. a missing bias)
        const dataId = cpuBackend.write(wasmBackend.readSync(info.dataId), info.shape, info.dtype);
        cpuIds.add(dataId);
        cpuInputs[name] = { dataId, shape: info.shape, dtype: info.dtype };
      }
      const result = cpuKernel.kernelFunc({ inputs: cpuInputs, backend: cpuBackend, attrs });
      const outputs = (Array.isArray(result) ? result : [result]).map((o) => {
        cpuIds.add(o.dataId);
        return wasmBackend.makeOutput(o.shape, o.dtype, undefined, cpuBackend.readSync(o.dataId));
      });
      return Array.isArray(result) ? outputs : outputs[0];
    } finally {
      // force: a cpu kernel may have taken extra references to an input it returned.
      for (const dataId of cpuIds) cpuBackend.disposeData(dataId, true);
    }
  };
  ourKernelFuncs.add(kernelFunc);
  return { kernelName, backendName: WASM, kernelFunc };
}

/**
 * Turns off the hint the cpu backend prints on its first write in Node ("install our node
 * backend"). Delegated kernels write to it while the course runs on wasm, where the hint is
 * misleading, and `initBackend` prints its own, accurate, line about tfjs-node.
 * @param cpuBackend the cpu backend (`tf.findBackend('cpu')`).
 */
export function silenceCpuNodeHint(cpuBackend: tf.KernelBackend): void {
  const flagged = cpuBackend as unknown as { firstUse?: boolean };
  if (flagged.firstUse === true) flagged.firstUse = false;
}

/**
 * `UnsortedSegmentSum` as a scatter-add: `out[ids[i]] += x[i]`, linear in the size of `x`. (The
 * cpu kernel builds a mask per segment, quadratic: 12 s for one embedding gradient at V = 1000.)
 * Ids outside `[0, numSegments)` are dropped, as on the cpu backend.
 */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const wasmBackend = backend as BackendWasm;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (attrs as unknown as tf.UnsortedSegmentSumAttrs).numSegments;
  const idRank = segmentIds.shape.length;
  const idsShape = x.shape.slice(0, idRank);
  if (idsShape.some((d, i) => d !== segmentIds.shape[i])) {
    throw new Error(
      `UnsortedSegmentSum: expected segmentIds of shape [${idsShape.join(', ')}] (the leading ` +
        `axes of x [${x.shape.join(', ')}]), got [${segmentIds.shape.join(', ')}]`,
    );
  }
  const inner = sizeOf(x.shape.slice(idRank));
  const out = wasmBackend.makeOutput([numSegments, ...x.shape.slice(idRank)], x.dtype);
  // Views after the allocation: growing the heap detaches older views.
  const sums = wasmBackend.typedArrayFromHeap(out);
  const values = wasmBackend.typedArrayFromHeap(x);
  const ids = wasmBackend.typedArrayFromHeap(segmentIds);
  sums.fill(0); // fresh wasm memory is not zeroed
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const from = i * inner;
    const to = s * inner;
    for (let j = 0; j < inner; j++) sums[to + j] += values[from + j];
  }
  return out;
}

/** Upper bound on a convolution gradient's patch matrix (floats), to bound its memory. */
const MAX_PATCH_FLOATS = 1 << 22;

/**
 * One block of a convolution's patch runs: `rows` runs of `run` floats, run `i` at
 * `colAt + i * colStride` in the patch matrix and at `xAt + i * xStride` in the image (offsets
 * in floats).
 */
type PatchRows = (
  colAt: number,
  xAt: number,
  rows: number,
  run: number,
  colStride: number,
  xStride: number,
) => void;

/**
 * Visits the patch matrix of a 2-D convolution (NHWC, dilation 1) for the images `b0 .. b0 + nb`:
 * its row `(b, y, x)` holds the `KH x KW x Ci` input values that output pixel saw, laid out
 * `(kh, kw, ci)`. One filter row `kh` of one output pixel is one run of `KW * Ci` neighbouring
 * values in the image (channels last); for the output columns whose filter row lies wholly inside
 * the image, those runs are one block with fixed strides; at the borders a run is cut to the
 * taps inside. Taps in the padding are not visited (they are zero).
 */
function visitPatchRows(
  info: tf.backend_util.Conv2DInfo,
  b0: number,
  nb: number,
  visit: PatchRows,
): void {
  const { inHeight: H, inWidth: W, inChannels: Ci, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const taps = KH * KW * Ci;
  // Output columns x whose taps x * sw + kw - left all lie in [0, W): x in [xFirst, xEnd).
  const xFirst = Math.min(OW, Math.ceil(left / sw));
  const xEnd = Math.max(xFirst, Math.min(OW, Math.floor((W - KW + left) / sw) + 1));
  for (let b = b0; b < b0 + nb; b++) {
    for (let y = 0; y < OH; y++) {
      const pixelRow = ((b - b0) * OH + y) * OW; // patch row of (b, y, 0)
      for (let kh = 0; kh < KH; kh++) {
        const r = y * sh + kh - top;
        if (r < 0 || r >= H) continue;
        const colAt = (x: number, kw: number): number =>
          (pixelRow + x) * taps + (kh * KW + kw) * Ci;
        const xAt = (x: number, kw: number): number => ((b * H + r) * W + x * sw + kw - left) * Ci;
        for (let x = 0; x < OW; x++) {
          if (x === xFirst && xEnd > xFirst) {
            visit(colAt(x, 0), xAt(x, 0), xEnd - xFirst, KW * Ci, taps, sw * Ci);
            x = xEnd - 1;
            continue;
          }
          const kw0 = Math.max(0, left - x * sw);
          const kw1 = Math.min(KW, W + left - x * sw);
          if (kw1 > kw0) visit(colAt(x, kw0), xAt(x, kw0), 1, (kw1 - kw0) * Ci, taps, sw * Ci);
        }
      }
    }
  }
}

/**
 * `PatchRows` that copy image runs into the patch matrix (`add: false`) or add patch runs into
 * the image (`add: true`), in the course's wasm loops where they run, else in JavaScript.
 */
function patchCopier(
  backend: BackendWasm,
  image: TensorInfo,
  patches: TensorInfo,
  add: boolean,
): PatchRows {
  const loops = smallMatMulLoops(backend);
  if (loops !== null) {
    const offset = (t: TensorInfo): number => heapOffset(backend, t);
    const [im, pm] = [offset(image), offset(patches)];
    return add
      ? (colAt, xAt, rows, run, colStride, xStride) =>
          loops.add_runs(pm + 4 * colAt, im + 4 * xAt, rows, run, 4 * colStride, 4 * xStride)
      : (colAt, xAt, rows, run, colStride, xStride) =>
          loops.copy_runs(im + 4 * xAt, pm + 4 * colAt, rows, run, 4 * xStride, 4 * colStride);
  }
  const im = backend.typedArrayFromHeap(image);
  const pm = backend.typedArrayFromHeap(patches);
  return (colAt, xAt, rows, run, colStride, xStride) => {
    for (let i = 0; i < rows; i++, colAt += colStride, xAt += xStride) {
      for (let j = 0; j < run; j++) {
        if (add) im[xAt + j] += pm[colAt + j];
        else pm[colAt + j] = im[xAt + j];
      }
    }
  };
}

/** The geometry of a conv2d gradient (NHWC; tfjs has no conv2d gradient for dilations > 1). */
function conv2DInfo(
  inputShape: readonly number[],
  filterShape: readonly number[],
  attrs: Pick<tf.Conv2DBackpropInputAttrs, 'strides' | 'pad' | 'dimRoundingMode'>,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * `Conv2DBackpropFilter` (NHWC) as one product per batch chunk, `dW = P^T dy`:
 * `dW[(kh, kw, ci), co] = sum over (b, y, x) of P[(b, y, x), (kh, kw, ci)] * dy[(b, y, x), co]`,
 * where the patch matrix `P` holds the input pixel each filter tap saw (0 in the padding), built
 * run by run (`visitPatchRows`); the product reads `P` transposed in place (the tiled loop of
 * the matMul fix). NCHW, rare in this course, is delegated to the cpu kernel.
 */
function conv2DBackpropFilter(args: KernelArgs): TensorInfo | TensorInfo[] {
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat === 'NCHW') return delegateToCpu(tf.Conv2DBackpropFilter).kernelFunc(args);
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const info = conv2DInfo(x.shape, attrs.filterShape, attrs);
  const { batchSize, outHeight, outWidth, outChannels } = info;
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  const pixels = outHeight * outWidth;
  const chunk = Math.max(1, Math.floor(MAX_PATCH_FLOATS / Math.max(1, taps * pixels)));
  const matMul = wasmKernel(tf.BatchMatMul, 'Conv2DBackpropFilter');

  const out = backend.makeOutput([...info.filterShape], 'float32');
  backend.typedArrayFromHeap(out).fill(0);
  try {
    for (let b0 = 0; b0 < batchSize; b0 += chunk) {
      const nb = Math.min(chunk, batchSize - b0);
      const rows = nb * pixels;
      const patches = backend.makeOutput([1, rows, taps], 'float32');
      // A fresh buffer as the second operand: XNNPACK, where it runs, caches packed weights by
      // buffer id, and dy's id must not meet it under another shape.
      const grads = backend.makeOutput([1, rows, outChannels], 'float32');
      let part: TensorInfo | null = null;
      try {
        backend.typedArrayFromHeap(patches).fill(0); // the padding's taps stay 0
        const dys = backend.typedArrayFromHeap(dy);
        backend
          .typedArrayFromHeap(grads)
          .set(dys.subarray(b0 * pixels * outChannels, (b0 + nb) * pixels * outChannels));
        visitPatchRows(info, b0, nb, patchCopier(backend, x, patches, false));
        // [1, B * OH * OW, KH * KW * Ci]^T x [1, B * OH * OW, Co] -> [1, KH * KW * Ci, Co]
        part = single(
          matMul({
            inputs: { a: patches, b: grads },
            backend,
            attrs: { transposeA: true, transposeB: false },
          }),
          tf.BatchMatMul,
        );
        const sums = backend.typedArrayFromHeap(out);
        const partValues = backend.typedArrayFromHeap(part);
        if (nb === batchSize) sums.set(partValues);
        else for (let i = 0; i < sums.length; i++) sums[i] += partValues[i];
      } finally {
        backend.disposeData(patches.dataId);
        backend.disposeData(grads.dataId);
        if (part !== null) backend.disposeData(part.dataId);
      }
    }
  } catch (err) {
    backend.disposeData(out.dataId);
    throw err;
  }
  return out;
}

/**
 * `x[begin : begin + size]` as a new wasm tensor, copied from the heap run by run (one
 * `TypedArray.set` per contiguous run along the last axis, or one for a contiguous slice), without
 * the stock kernel's copy of the whole input. `null` for strings (left to the stock kernel).
 */
function sliceFromHeap(
  backend: BackendWasm,
  x: TensorInfo,
  begin: number[],
  size: number[],
): TensorInfo | null {
  if (x.dtype === 'string') return null;
  const out = backend.makeOutput(size, x.dtype);
  const n = sizeOf(size);
  if (n === 0) return out;
  // Views are taken after the allocation: growing the wasm heap detaches older views.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape); // rank - 1 entries, the last axis has stride 1
  if (rank === 0 || tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const offset = rank === 0 ? 0 : tf.slice_util.computeFlatOffset(begin, strides);
    dst.set(src.subarray(offset, offset + n));
    return out;
  }
  const run = size[rank - 1];
  const index = new Array<number>(rank - 1).fill(0); // position among the runs, outer axes
  for (let k = 0; k < n / run; k++) {
    let offset = begin[rank - 1];
    for (let i = 0; i < rank - 1; i++) offset += (begin[i] + index[i]) * strides[i];
    dst.set(src.subarray(offset, offset + run), k * run);
    for (let i = rank - 2; i >= 0; i--) {
      if (++index[i] < size[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

function sliceKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const attrs = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
    return sliceFromHeap(args.backend as BackendWasm, x, begin, size) ?? original(args);
  };
}

function splitVKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    if (x.dtype === 'string') return original(args);
    const attrs = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x, attrs.numOrSizeSplits, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const piece = sliceFromHeap(args.backend as BackendWasm, x, [...begin], size)!;
      begin[axis] += s;
      return piece;
    });
  };
}

function unpackKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const value = (args.inputs as { value: TensorInfo }).value;
    if (value.dtype === 'string') return original(args);
    const rank = value.shape.length;
    const axis = tf.util.parseAxisParam(
      (args.attrs as unknown as { axis: number }).axis,
      value.shape,
    )[0];
    const outShape = value.shape.filter((_, i) => i !== axis);
    const size = [...value.shape];
    size[axis] = 1;
    return Array.from({ length: value.shape[axis] }, (_, i) => {
      const begin = new Array<number>(rank).fill(0);
      begin[axis] = i;
      const piece = sliceFromHeap(args.backend as BackendWasm, value, begin, size)!;
      return { ...piece, shape: outShape };
    });
  };
}

/**
 * Replaces the wasm `Slice`, `SplitV` and `Unpack` kernels with ones that copy only the slice out
 * of the heap (the stock kernels first copy the whole input, once per slice: `tf.unstack` of `S`
 * steps costs `S` full copies). Same results, bit for bit. Idempotent; undo with
 * `uninstallWasmSliceFix`.
 */
export function installWasmSliceFix(): void {
  ensureWasmKernelsRegistered();
  if (savedSliceKernels !== null) return;
  const saved = new Map<string, tf.KernelConfig>();
  for (const name of SLICE_KERNELS) {
    const config = getKernelOrNull(name, WASM);
    if (config === null)
      throw new Error(`installWasmSliceFix: expected a wasm kernel ${name}, got none`);
    saved.set(name, config);
  }
  const wrappers: Record<string, (f: tf.KernelFunc) => tf.KernelFunc> = {
    [tf.Slice]: sliceKernel,
    [tf.SplitV]: splitVKernel,
    [tf.Unpack]: unpackKernel,
  };
  for (const [name, config] of saved) {
    const kernelFunc = wrappers[name](config.kernelFunc);
    ourKernelFuncs.add(kernelFunc);
    replaceKernel({ ...config, kernelFunc });
  }
  savedSliceKernels = saved;
}

/** Restores the stock wasm slicing kernels. Does nothing when the fix is not installed. */
export function uninstallWasmSliceFix(): void {
  if (savedSliceKernels === null) return;
  for (const config of savedSliceKernels.values()) replaceKernel(config);
  savedSliceKernels = null;
}

/** Whether the registered wasm `Slice` kernel is this module's replacement. */
export function wasmSliceFixInstalled(): boolean {
  const current = getKernelOrNull(tf.Slice, WASM);
  return current !== null && ourKernelFuncs.has(current.kernelFunc);
}

/** Original wasm kernels while the fast-kernel fix is installed, to restore them exactly. */
let savedFastKernels: Map<string, tf.KernelConfig> | null = null;

/**
 * Kernels that `installWasmFastKernels` replaces, and the short name each has in the fix list.
 * Measured on a 2-core x86 machine under load (stock -> replacement): `Identity` shares memory
 * instead of copying it (`identityKernel`); `Tanh` of 196k floats
 * 10 ms -> ~0.4 ms; `Tile` of a `[1, 1, 64, 64]` mask to `[16, 4, 64, 64]` 25-38 ms -> ~0.3 ms;
 * `Transpose` of `[1024, 128]` 1.4 ms -> 0.6 ms; `Sum` of `[1024, 128]` over axis 0 (every bias
 * gradient) 2.3 ms -> ~0.2 ms; `GatherV2` of 3072 rows of 64 floats 11 ms -> ~0.2 ms;
 * `Conv2DBackpropInput` of a 3 x 3 stride-2 convolution, `[64, 7, 7, 32]` -> `[64, 14, 14, 16]`
 * (chapter 07's stem), 12-20 ms -> ~2 ms (idle).
 */
export const FAST_WASM_KERNELS: Readonly<Record<string, string>> = {
  [tf.Identity]: 'identity',
  [tf.Tanh]: 'tanh',
  [tf.Exp]: 'exp',
  [tf.Tile]: 'tile',
  [tf.Transpose]: 'transpose',
  [tf.Sum]: 'sum',
  [tf.GatherV2]: 'gather',
  [tf.Conv2DBackpropInput]: 'conv2dInputGrad',
};

/** A wasm kernel by name, or an error naming the caller. */
function wasmKernel(kernelName: string, caller: string): tf.KernelFunc {
  const config = getKernelOrNull(kernelName, WASM);
  if (config === null) throw new Error(`${caller}: expected a wasm ${kernelName} kernel, got none`);
  return config.kernelFunc;
}

/** A new float32 wasm scalar. */
function scalarOf(backend: BackendWasm, value: number): TensorInfo {
  const out = backend.makeOutput([], 'float32');
  backend.typedArrayFromHeap(out)[0] = value;
  return out;
}

/**
 * `exp(x) = (sigmoid(x / 2) / sigmoid(-x / 2))^2` through the wasm Sigmoid kernel (XNNPACK,
 * vectorised) instead of the stock Exp (a scalar `std::exp` per element: `[64, 17, 128]`, the GELU
 * gradient of chapter 07's ViT, 1.6 ms -> ~0.6 ms). The halves keep both sigmoids away from
 * XNNPACK's underflow below -87, so results reach float32's whole range (overflow to infinity
 * above 88.72 included); measured within 6e-7 relative of the exact value wherever it is a normal
 * float32. The gradient, `dy * y`, is unchanged.
 */
function expKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    if (x.dtype !== 'float32') return original(args);
    const backend = args.backend as BackendWasm;
    const run = (f: tf.KernelFunc, inputs: tf.NamedTensorInfoMap, name: string): TensorInfo =>
      single(f({ inputs, backend, attrs: {} }), name);
    const mul = wasmKernel(tf.Multiply, 'Exp');
    const sigmoid = wasmKernel(tf.Sigmoid, 'Exp');
    const half = scalarOf(backend, 0.5);
    const minusHalf = scalarOf(backend, -0.5);
    const temps: TensorInfo[] = [half, minusHalf];
    const keep = (t: TensorInfo): TensorInfo => {
      temps.push(t);
      return t;
    };
    try {
      const up = keep(
        run(sigmoid, { x: keep(run(mul, { a: x, b: half }, tf.Multiply)) }, tf.Sigmoid),
      );
      const down = keep(
        run(sigmoid, { x: keep(run(mul, { a: x, b: minusHalf }, tf.Multiply)) }, tf.Sigmoid),
      );
      const root = keep(run(wasmKernel(tf.RealDiv, 'Exp'), { a: up, b: down }, tf.RealDiv)); // exp(x / 2)
      return run(mul, { a: root, b: root }, tf.Multiply);
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}

/**
 * Identity (`tf.clone`, and every tensor a `tf.customGrad` saves for its backward) sharing the
 * input's memory, counted by reference as `Reshape` already is, instead of the stock kernel's
 * copy: tensors never change after they are made (a variable's `assign` takes new memory), and
 * tfjs's cpu backend does the same. The seq2seq step saves ~280 tensors, ~12 MB, every step.
 */
function identityKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    if (x.dtype === 'string') return original(args);
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/**
 * `tanh(x) = 2 sigmoid(2x) - 1` in one pass of the course's SIMD loop (`sigmoid_scaled` in
 * `small-matmul.wat`), or, where the loops cannot run (or for fewer than 4 values), through the
 * wasm Sigmoid kernel (XNNPACK) and three element-wise kernels: instead of the stock Tanh (a
 * scalar `std::tanh` per element, ~25x slower). Absolute error within ~5e-7 of the exact value
 * (float32 rounding of `2s - 1`, where `s` is within a few units in the last place); the
 * gradient, `dy (1 - y^2)`, is unchanged.
 */
function tanhKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    if (x.dtype !== 'float32') return original(args);
    const backend = args.backend as BackendWasm;
    const size = tf.util.sizeFromShape(x.shape);
    const loops = size >= 4 ? smallMatMulLoops(backend) : null;
    if (loops !== null) {
      const out = backend.makeOutput(x.shape, 'float32');
      const at = (t: TensorInfo): number => heapOffset(backend, t);
      loops.sigmoid_scaled(at(x), at(out), 4 * size, 2, 2, 1);
      return out;
    }
    const mul = wasmKernel(tf.Multiply, 'Tanh');
    const run = (f: tf.KernelFunc, inputs: tf.NamedTensorInfoMap, name: string): TensorInfo =>
      single(f({ inputs, backend, attrs: {} }), name);
    const two = scalarOf(backend, 2);
    const one = scalarOf(backend, 1);
    const temps: TensorInfo[] = [two, one];
    try {
      const x2 = run(mul, { a: x, b: two }, tf.Multiply);
      temps.push(x2);
      const s = run(wasmKernel(tf.Sigmoid, 'Tanh'), { x: x2 }, tf.Sigmoid);
      temps.push(s);
      const s2 = run(mul, { a: s, b: two }, tf.Multiply);
      temps.push(s2);
      return run(wasmKernel(tf.Sub, 'Tanh'), { a: s2, b: one }, tf.Sub);
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}

/**
 * `x` tiled `reps` times along each axis, written row by row (a `fill` or one `set` per repeat of
 * each last-axis row) instead of the stock kernel's per-element index arithmetic.
 */
function tileKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const reps = (args.attrs as unknown as { reps: number[] }).reps;
    const rank = x.shape.length;
    if (x.dtype === 'string' || rank === 0 || reps.length !== rank) return original(args);
    const backend = args.backend as BackendWasm;
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const out = backend.makeOutput(outShape, x.dtype);
    const n = sizeOf(outShape);
    if (n === 0) return out;
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const inner = x.shape[rank - 1];
    const outInner = outShape[rank - 1];
    const strides = tf.util.computeStrides(x.shape); // rank - 1 entries
    const index = new Array<number>(rank - 1).fill(0); // over the output's outer axes
    for (let row = 0, at = 0; at < n; row++, at += outInner) {
      let from = 0;
      for (let i = 0; i < rank - 1; i++) from += (index[i] % x.shape[i]) * strides[i];
      if (inner === 1) dst.fill(src[from], at, at + outInner);
      else {
        const run = src.subarray(from, from + inner);
        for (let r = 0; r < outInner; r += inner) dst.set(run, at + r);
      }
      for (let i = rank - 2; i >= 0; i--) {
        if (++index[i] < outShape[i]) break;
        index[i] = 0;
      }
    }
    return out;
  };
}

/**
 * `shape` and `perm` with size-1 axes dropped and axes that stay neighbours merged: the same
 * memory movement in the fewest axes (`[16, 64, 4, 32]` by `[0, 2, 1, 3]` stays rank 4; a
 * `[1, 8, 5]` by `[0, 2, 1]` becomes `[8, 5]` by `[1, 0]`).
 */
function simplifyPermutation(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const kept = perm.filter((p) => shape[p] !== 1);
  // Merge runs p, p+1, ... (consecutive in the output) of input axes.
  const groups: number[][] = [];
  for (const p of kept) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[last.length - 1] + 1 === p) last.push(p);
    else groups.push([p]);
  }
  const order = [...groups].sort((a, b) => a[0] - b[0]); // groups in input order
  return {
    shape: order.map((g) => g.reduce((s, p) => s * shape[p], 1)),
    perm: groups.map((g) => order.indexOf(g)),
  };
}

/**
 * The transpose in plain JavaScript over the heap, for the two movements training does most: a
 * permutation that keeps the last axis (multi-head split and merge: one `set` per run) and a swap
 * of the last two axes under a batch (matMul gradients, reductions: 16x16 blocks). Anything else
 * goes to the stock kernel.
 */
function transposeKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    if (x.dtype === 'string' || perm.length !== x.shape.length) return original(args);
    const backend = args.backend as BackendWasm;
    const outShape = perm.map((p) => x.shape[p]);
    const simple = simplifyPermutation(x.shape, perm);
    const rank = simple.perm.length;
    const keepsLast = rank === 0 || simple.perm[rank - 1] === rank - 1;
    const swapsLastTwo =
      rank >= 2 &&
      simple.perm[rank - 1] === rank - 2 &&
      simple.perm[rank - 2] === rank - 1 &&
      simple.perm.slice(0, -2).every((p, i) => p === i);
    if (!keepsLast && !swapsLastTwo) return original(args);
    const out = backend.makeOutput(outShape, x.dtype);
    const n = sizeOf(outShape);
    if (n === 0) return out;
    // Views are taken after the allocation: growing the wasm heap detaches older views.
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    if (keepsLast) {
      const copyRows = copyRowsInWasm(backend, x, out) ?? copyRowsInJs(src, dst);
      copyRuns(n, simple.shape, simple.perm, copyRows);
    } else {
      const [R, C] = simple.shape.slice(-2);
      for (let b = 0, off = 0; off < n; b++, off += R * C) {
        transposeBlock(src, dst, off, R, C);
      }
    }
    return out;
  };
}

/** Runs shorter than this are copied element by element in `copyRuns`. */
const SHORT_RUN = 64;

/**
 * Copies `rows` runs of `run` elements, run `r` from `src[from + r * rowStride]`, to `dst[at]`
 * onwards, back to back.
 */
type CopyRows = (from: number, at: number, rows: number, run: number, rowStride: number) => void;

/** `CopyRows` in JavaScript over two typed arrays (any dtype). */
function copyRowsInJs(src: tf.TypedArray, dst: tf.TypedArray): CopyRows {
  return (from, at, rows, run, rowStride) => {
    // A short run (a head of 8 floats) costs more as a `subarray` and a `set` than as a loop
    // (measured: splitting `[64, 24, 3, 4, 8]` into heads 9 ms -> under 1 ms).
    for (let r = 0; r < rows; r++, from += rowStride, at += run) {
      if (run < SHORT_RUN) for (let j = 0; j < run; j++) dst[at + j] = src[from + j];
      else dst.set(src.subarray(from, from + run), at);
    }
  };
}

/**
 * `CopyRows` in the course's wasm loop (`copy_runs` of `small-matmul.wat`), for 4-byte dtypes on
 * a heap it can run on, or null: 16 bytes per instruction instead of one element per JavaScript
 * access (splitting `[64, 17, 3, 4, 16]` into heads: ~0.9 ms in JavaScript, measured 2026-12-03).
 */
function copyRowsInWasm(backend: BackendWasm, x: TensorInfo, out: TensorInfo): CopyRows | null {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
  const loops = smallMatMulLoops(backend);
  if (loops === null) return null;
  const offset = (t: TensorInfo): number => heapOffset(backend, t);
  const [src, dst] = [offset(x), offset(out)];
  return (from, at, rows, run, rowStride) =>
    loops.copy_runs(src + 4 * from, dst + 4 * at, rows, run, 4 * rowStride, 4 * run);
}

/**
 * Transposes `n` elements of `shape` by `perm`, a permutation that keeps the last axis, as
 * blocks of last-axis runs handed to `copyRows`: an odometer over the output axes before the
 * last two, and a fixed stride along the one before the runs (recomputing every run's offset
 * cost more than the copy itself).
 */
function copyRuns(n: number, shape: number[], perm: number[], copyRows: CopyRows): void {
  const rank = shape.length;
  if (rank <= 1) {
    copyRows(0, 0, 1, n, 0);
    return;
  }
  const run = shape[rank - 1];
  const inStrides = [...tf.util.computeStrides(shape), 1];
  const outShape = perm.map((p) => shape[p]);
  const strides = perm.slice(0, -1).map((p) => inStrides[p]); // input stride of each output axis
  const outer = rank - 2;
  const rows = outShape[rank - 2];
  const index = new Array<number>(outer).fill(0);
  for (let at = 0; at < n; at += rows * run) {
    let from = 0;
    for (let i = 0; i < outer; i++) from += index[i] * strides[i];
    copyRows(from, at, rows, run, strides[rank - 2]);
    for (let i = outer - 1; i >= 0; i--) {
      if (++index[i] < outShape[i]) break;
      index[i] = 0;
    }
  }
}

/** `dst[off + c * R + r] = src[off + r * C + c]` for one `[R, C]` matrix, in 16x16 blocks. */
function transposeBlock(
  src: tf.TypedArray,
  dst: tf.TypedArray,
  off: number,
  R: number,
  C: number,
): void {
  const BS = 16;
  for (let r0 = 0; r0 < R; r0 += BS) {
    const r1 = Math.min(R, r0 + BS);
    for (let c0 = 0; c0 < C; c0 += BS) {
      const c1 = Math.min(C, c0 + BS);
      for (let r = r0; r < r1; r++) {
        const row = off + r * C;
        for (let c = c0; c < c1; c++) dst[off + c * R + r] = src[row + c];
      }
    }
  }
}

/**
 * `Sum` over one block of neighbouring axes that are not innermost (`[1024, 128]` over axis 0:
 * every bias gradient; `[B, 1, S, A]` over `S`) as float32 row additions, without the stock
 * kernel's slow transpose (equal up to float32 summation order). Other axes that are not
 * innermost are moved last by the registered (fast) `Transpose` first; innermost axes go straight
 * to the stock kernel.
 */
function sumKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const attrs = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32') return original(args);
    const backend = args.backend as BackendWasm;
    const rank = x.shape.length;
    const axes = [...new Set(tf.util.parseAxisParam(attrs.axis, x.shape))].sort((a, b) => a - b);
    if (axes.length === 0 || tf.backend_util.getAxesPermutation(axes, rank) === null) {
      return original(args); // nothing to reduce, or innermost axes: no transpose in the stock kernel
    }
    // One block of neighbouring axes: x is [outer, R, inner] and the sum runs over R.
    const block = axes.every((a, i) => a === axes[0] + i);
    const keptShape = x.shape.filter((_, i) => !axes.includes(i));
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : keptShape;
    if (!block) {
      // Move the reduced axes last with the fast transpose, then reduce innermost axes.
      const order = [...x.shape.keys()].filter((i) => !axes.includes(i)).concat(axes);
      const transpose = wasmKernel(tf.Transpose, 'Sum'); // this module's, when installed
      const moved = single(
        transpose({ inputs: { x }, backend, attrs: { perm: order } }),
        tf.Transpose,
      );
      try {
        const innermost = axes.map((_, i) => rank - axes.length + i);
        const out = single(
          original({ inputs: { x: moved }, backend, attrs: { axis: innermost, keepDims: false } }),
          tf.Sum,
        );
        out.shape = outShape;
        return out;
      } finally {
        backend.disposeData(moved.dataId);
      }
    }
    const out = backend.makeOutput(outShape, 'float32');
    const outer = sizeOf(x.shape.slice(0, axes[0]));
    const reduced = sizeOf(axes.map((a) => x.shape[a]));
    const inner = sizeOf(x.shape.slice(axes[axes.length - 1] + 1));
    const loops = smallMatMulLoops(backend);
    if (loops !== null) {
      // The same additions in the same order, 4 columns per instruction.
      const offset = (t: TensorInfo): number => heapOffset(backend, t);
      loops.sum_rows(offset(x), offset(out), outer, reduced, inner);
      return out;
    }
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    dst.fill(0);
    for (let o = 0; o < outer; o++) {
      const at = o * inner;
      for (let r = 0; r < reduced; r++) {
        const off = (o * reduced + r) * inner;
        for (let c = 0; c < inner; c++) dst[at + c] += src[off + c];
      }
    }
    return out;
  };
}

/**
 * `GatherV2` (embeddings, reordering a padded batch) as one row copy per index, instead of the
 * stock kernel's per-element index arithmetic (measured 11 ms for 3072 rows of 64 floats).
 * `batchDims > 0` goes to the stock kernel. An index outside `[0, x.shape[axis])` throws, as on cpu.
 */
function gatherKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    const attrs = args.attrs as unknown as { axis: number; batchDims?: number };
    if (x.dtype === 'string' || indices.dtype !== 'int32' || (attrs.batchDims ?? 0) !== 0) {
      return original(args);
    }
    const backend = args.backend as BackendWasm;
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
    const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    const out = backend.makeOutput(outShape, x.dtype);
    const outer = sizeOf(x.shape.slice(0, axis));
    const size = x.shape[axis];
    const inner = sizeOf(x.shape.slice(axis + 1));
    const ids = backend.typedArrayFromHeap(indices);
    const count = ids.length;
    if (sizeOf(outShape) === 0) return out;
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    try {
      for (let j = 0; j < count; j++) {
        const id = ids[j];
        if (!(id >= 0 && id < size)) {
          throw new Error(`GatherV2: the index value ${id} is not in [0, ${size - 1}]`);
        }
      }
    } catch (err) {
      backend.disposeData(out.dataId);
      throw err;
    }
    for (let o = 0; o < outer; o++) {
      const from = o * size * inner;
      const to = o * count * inner;
      if (inner === 1) {
        for (let j = 0; j < count; j++) dst[to + j] = src[from + ids[j]];
      } else {
        for (let j = 0; j < count; j++) {
          const row = from + ids[j] * inner;
          dst.set(src.subarray(row, row + inner), to + j * inner);
        }
      }
    }
    return out;
  };
}

/**
 * `Conv2DBackpropInput` (NHWC, float32), the input gradient of a convolution, as one product and a
 * scatter-add ("col2im"), per batch chunk:
 * `dcols[(b, y, x), (kh, kw, ci)] = sum over co of dy[(b, y, x), co] * W[kh, kw, ci, co]`, then
 * `dx[b, y * sh + kh - top, x * sw + kw - left, ci] += dcols[(b, y, x), (kh, kw, ci)]` (taps that
 * fell in the padding are dropped). The stock kernel visits every filter tap of every input
 * element in a scalar loop; here the arithmetic is a `[B * OH * OW, Co] x [Co, KH * KW * Ci]`
 * product through the matMul fix. NCHW and other dtypes go to the stock kernel.
 */
function conv2DBackpropInputKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    if (attrs.dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
      return original(args);
    }
    const backend = args.backend as BackendWasm;
    const info = conv2DInfo(attrs.inputShape, filter.shape, attrs);
    const { batchSize, outHeight, outWidth, outChannels } = info;
    const taps = info.filterHeight * info.filterWidth * info.inChannels;
    const pixels = outHeight * outWidth;
    const chunk = Math.max(1, Math.floor(MAX_PATCH_FLOATS / Math.max(1, taps * pixels)));
    const matMul = wasmKernel(tf.BatchMatMul, 'Conv2DBackpropInput');
    // The filter [KH, KW, Ci, Co] read as [1, KH * KW * Ci, Co]: the same memory, another shape.
    const weights: TensorInfo = {
      dataId: filter.dataId,
      shape: [1, taps, outChannels],
      dtype: 'float32',
    };
    const out = backend.makeOutput([...attrs.inputShape], 'float32');
    backend.typedArrayFromHeap(out).fill(0); // fresh wasm memory is not zeroed
    try {
      for (let b0 = 0; b0 < batchSize; b0 += chunk) {
        const nb = Math.min(chunk, batchSize - b0);
        const rows = nb * pixels;
        const grads = backend.makeOutput([1, rows, outChannels], 'float32');
        let cols: TensorInfo | null = null;
        try {
          const dys = backend.typedArrayFromHeap(dy);
          backend
            .typedArrayFromHeap(grads)
            .set(dys.subarray(b0 * pixels * outChannels, (b0 + nb) * pixels * outChannels));
          // [1, B * OH * OW, Co] x [1, KH * KW * Ci, Co]^T -> [1, B * OH * OW, KH * KW * Ci]
          cols = single(
            matMul({
              inputs: { a: grads, b: weights },
              backend,
              attrs: { transposeA: false, transposeB: true },
            }),
            tf.BatchMatMul,
          );
          // Each patch run back into the input pixels its taps saw, in order (runs overlap
          // where filters do).
          visitPatchRows(info, b0, nb, patchCopier(backend, out, cols, true));
        } finally {
          backend.disposeData(grads.dataId);
          if (cols !== null) backend.disposeData(cols.dataId);
        }
      }
    } catch (err) {
      backend.disposeData(out.dataId);
      throw err;
    }
    return out;
  };
}

/**
 * Replaces the wasm kernels of `FAST_WASM_KERNELS` (`Tanh`, `Exp`, `Tile`, `Transpose`, `Sum`,
 * `GatherV2`, `Conv2DBackpropInput`) with faster ones for the shapes training uses; other shapes and
 * dtypes go to the stock kernels. Results equal the stock kernels' (Tile, Transpose and GatherV2
 * bit for bit; Sum and the conv2d input gradient up to summation order; Tanh within 2.4e-7, Exp
 * within 6e-7 relative). Idempotent; undo with `uninstallWasmFastKernels`.
 */
export function installWasmFastKernels(): void {
  ensureWasmKernelsRegistered();
  if (savedFastKernels !== null) return;
  const saved = new Map<string, tf.KernelConfig>();
  for (const name of Object.keys(FAST_WASM_KERNELS)) {
    const config = getKernelOrNull(name, WASM);
    if (config === null) {
      throw new Error(`installWasmFastKernels: expected a wasm kernel ${name}, got none`);
    }
    saved.set(name, config);
  }
  const wrappers: Record<string, (f: tf.KernelFunc) => tf.KernelFunc> = {
    [tf.Identity]: identityKernel,
    [tf.Tanh]: tanhKernel,
    [tf.Exp]: expKernel,
    [tf.Tile]: tileKernel,
    [tf.Transpose]: transposeKernel,
    [tf.Sum]: sumKernel,
    [tf.GatherV2]: gatherKernel,
    [tf.Conv2DBackpropInput]: conv2DBackpropInputKernel,
  };
  for (const [name, config] of saved) {
    const kernelFunc = wrappers[name](config.kernelFunc);
    ourKernelFuncs.add(kernelFunc);
    replaceKernel({ ...config, kernelFunc });
  }
  savedFastKernels = saved;
}

/** Restores the stock wasm kernels that `installWasmFastKernels` replaced. */
export function uninstallWasmFastKernels(): void {
  if (savedFastKernels === null) return;
  for (const config of savedFastKernels.values()) replaceKernel(config);
  savedFastKernels = null;
}

/** The short names (`'tanh'`, `'tile'`, ...) of the fast kernels currently installed. */
function installedFastKernels(): string[] {
  return Object.entries(FAST_WASM_KERNELS)
    .filter(([name]) => {
      const current = getKernelOrNull(name, WASM);
      return current !== null && ourKernelFuncs.has(current.kernelFunc);
    })
    .map(([, short]) => short);
}

/** The wasm implementation of each missing kernel: its own where delegation is too slow. */
function missingKernelConfig(kernelName: string): tf.KernelConfig {
  const own: Record<string, tf.KernelFunc> = {
    [tf.UnsortedSegmentSum]: unsortedSegmentSum,
    [tf.Conv2DBackpropFilter]: conv2DBackpropFilter,
  };
  const kernelFunc = own[kernelName];
  if (kernelFunc === undefined) return delegateToCpu(kernelName);
  ourKernelFuncs.add(kernelFunc);
  return { kernelName, backendName: WASM, kernelFunc };
}

/**
 * Registers a wasm kernel for each of `MISSING_WASM_KERNELS` that wasm lacks: a scatter-add for
 * `UnsortedSegmentSum`, patches times gradients for `Conv2DBackpropFilter`, and a delegation to
 * the cpu backend's kernel (`delegateToCpu`) for the depthwise gradients. Kernels that wasm
 * already has (a future tfjs) are left alone. Idempotent.
 * @returns the names of the missing kernels now installed by this module.
 */
export function installWasmMissingKernels(): string[] {
  ensureWasmKernelsRegistered();
  for (const name of MISSING_WASM_KERNELS) {
    if (installedMissing.has(name) || getKernelOrNull(name, WASM) !== null) continue;
    if (getKernelOrNull(name, 'cpu') === null) continue; // no reference to check against
    tf.registerKernel(missingKernelConfig(name));
    installedMissing.add(name);
  }
  return MISSING_WASM_KERNELS.filter((name) => installedMissing.has(name));
}

/** Unregisters the kernels that `installWasmMissingKernels` registered. */
export function uninstallWasmMissingKernels(): void {
  for (const name of installedMissing) {
    const current = getKernelOrNull(name, WASM);
    if (current !== null && ourKernelFuncs.has(current.kernelFunc)) {
      tf.unregisterKernel(name, WASM);
    }
  }
  installedMissing.clear();
}

/** Options of `installWasmFixes`. */
export interface WasmFixesOptions {
  /** Install the matMul fix (`false`: keep, or restore, the stock matMul kernels). Default `true`. */
  matMul?: boolean;
}

/**
 * Installs every wasm fix: the matMul fix (unless `matMul: false`), the slice fix, the fast
 * kernels (`FAST_WASM_KERNELS`) and the missing kernels.
 * Idempotent.
 * @returns the names of what is installed, e.g. `['matMul', 'slice', 'tanh', ..., 'UnsortedSegmentSum', ...]`, for the
 *   one-line summary `initBackend` prints.
 */
export function installWasmFixes(options: WasmFixesOptions = {}): string[] {
  if (options.matMul ?? true) installWasmMatMulFix();
  else uninstallWasmMatMulFix();
  installWasmSliceFix();
  installWasmFastKernels();
  const missing = installWasmMissingKernels();
  return [
    ...(wasmMatMulFixInstalled() ? ['matMul'] : []),
    ...(wasmSliceFixInstalled() ? ['slice'] : []),
    ...installedFastKernels(),
    ...missing,
  ];
}

/** Removes every wasm fix (restores the stock kernels). */
export function uninstallWasmFixes(): void {
  uninstallWasmMatMulFix();
  uninstallWasmSliceFix();
  uninstallWasmFastKernels();
  uninstallWasmMissingKernels();
}

/** The names of the wasm fixes currently installed, in the order `installWasmFixes` reports. */
export function installedWasmFixes(): string[] {
  return [
    ...(wasmMatMulFixInstalled() ? ['matMul'] : []),
    ...(wasmSliceFixInstalled() ? ['slice'] : []),
    ...installedFastKernels(),
    ...MISSING_WASM_KERNELS.filter((name) => installedMissing.has(name)),
  ];
}
