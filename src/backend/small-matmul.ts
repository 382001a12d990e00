/**
 * Matrix products on the wasm backend in the course's own WebAssembly SIMD loops
 * (`small-matmul.wat`), which read and write the tensors on the backend's heap directly.
 *
 * Multi-head attention is made of small products: `[B, H, Tq, Dh] x [B, H, Dh, Tk]` has B * H
 * slices of about 25 x 8 x 25 multiply-adds here, forward and backward. The stock wasm kernel
 * runs them in a scalar loop (~1.5 GFLOP/s) and one XNNPACK call per slice costs more than it
 * saves; `smallBatchMatMul` runs them at 10-14 GFLOP/s. Weight gradients `X^T dY` are larger
 * products that XNNPACK runs at 7-15 GFLOP/s (it copies the transposed `X` and packs `dY` on
 * every call); `tiledMatMul` reads `X^T` in place at 17-30 GFLOP/s. `wasm-fixes.ts` sends them
 * here, and uses the module's copy and sum loops (`smallMatMulLoops`) for transposes,
 * convolution patches and bias gradients.
 *
 * On the threaded build's shared heap (the default on two or more cores) large products are shared
 * with a helper thread (`loop-helper.ts`): both threads claim chunks of rows (or of slices) of the
 * same product, each chunk summed exactly as on one thread, so results are bit-identical to one
 * thread's. `useLoopHelper(false)` keeps every product on the main thread.
 *
 * The module is built four times (`npm run build:wasm`): importing an unshared or a shared heap,
 * each plain and fused. The fused builds' `gemm` tile uses Relaxed
 * SIMD's fused multiply-add (`f32x4.relaxed_madd`, one rounding instead of two, 1.2-1.5x faster
 * here). It runs when this V8 validates it and a self-check passes; then `wasm-fixes.ts` also
 * sends it `A B^T` and taller products. A fused multiply-add rounds differently from a multiply
 * then an add, and a CPU without FMA (x86 before 2013) computes it unfused, so
 * `useFusedMultiplyAdd(false)` gives bit-identical numbers across machines.
 */
import * as v8 from 'node:v8';
import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  SMALL_MATMUL_FMA_WASM_BASE64,
  SMALL_MATMUL_SHARED_FMA_WASM_BASE64,
  SMALL_MATMUL_SHARED_WASM_BASE64,
  SMALL_MATMUL_WASM_BASE64,
} from './small-matmul-wasm';
import { LoopHelper } from './loop-helper';

type TensorInfo = tf.TensorInfo;

/** The arguments both loops start with: byte offsets of A, B and C, then the sizes. */
type Operands = [a: number, b: number, c: number, batch: number, M: number, K: number, N: number];

/** The exported loops of `small-matmul.wat` (pointers and strides in bytes). */
interface Loops {
  /** `C[i] = A[i] B[i]`, A in any layout, B's rows contiguous. */
  bmm_nn(
    ...args: [...Operands, aBatch: number, aRow: number, aCol: number, bBatch: number, bRow: number]
  ): void;
  /** `C[i] = A[i] B[i]^T`, the rows of A and of B (stored `[N, K]`) contiguous. */
  bmm_nt(...args: [...Operands, aBatch: number, aRow: number, bBatch: number, bRow: number]): void;
  /** `C += A B` for one matrix in 4 x 8 register tiles, A in any layout, B's rows contiguous. */
  gemm(
    a: number,
    b: number,
    c: number,
    M: number,
    K: number,
    N: number,
    aRow: number,
    aCol: number,
    bRow: number,
  ): void;
  /** Copies `rows` runs of `run` 4-byte elements, `src + r * srcStride` to `dst + r * dstStride`. */
  copy_runs(
    src: number,
    dst: number,
    rows: number,
    run: number,
    srcStride: number,
    dstStride: number,
  ): void;
  /** Adds `rows` runs of `run` floats, `src + r * srcStride` into `dst + r * dstStride`, in order. */
  add_runs(
    src: number,
    dst: number,
    rows: number,
    run: number,
    srcStride: number,
    dstStride: number,
  ): void;
  /** `dst[o, c] = sum over r of src[o, r, c]`, src `[outer, R, inner]` (floats). */
  sum_rows(src: number, dst: number, outer: number, R: number, inner: number): void;
  /**
   * `dst = b sigmoid(a src) - c` over `bytes` bytes (at least 16): the sigmoid (1, 1, 0) and tanh
   * (2, 2, 1). Where `bytes` is not a multiple of 16 the last vector is done twice, so in place
   * (`src === dst`) only where it is.
   */
  sigmoid_scaled(src: number, dst: number, bytes: number, a: number, b: number, c: number): void;
  /** One GRU step's gate math (`gru-fused.ts`): `h'` to `out`, `r | z | n` to `gates` (d >= 4). */
  gru_gates(
    xp: number,
    xc: number,
    hp: number,
    h: number,
    bias: number,
    out: number,
    gates: number,
    rows: number,
    d: number,
    perBias: number,
    hasXc: number,
  ): void;
  /** `f = tanh(q + k_j)` and `e = f . v + bias` of one additive-attention step (A % 4 == 0). */
  additive_scores(
    q: number,
    keys: number,
    v: number,
    bias: number,
    f: number,
    e: number,
    B: number,
    S: number,
    A: number,
  ): void;
  /** `c_b = sum_j a_bj h_bj`, `a [B, S]`, `h [B, S, M]`, `c [B, M]` (M % 4 == 0). */
  weighted_rows(a: number, h: number, c: number, B: number, S: number, M: number): void;
  /**
   * The backward of one additive-attention step (`bahdanau-fused.ts`): `ds [B, S]`,
   * `dpre [B, S, A]`, `dq [B, A]`, `dv [A]` from `dc [B, M]`, `dA [B, S]`, `a [B, S]`,
   * `f [B, S, A]`, `v [A]`, `h [B, S, M]` (M and A multiples of 4).
   */
  additive_attention_grad(
    dc: number,
    dA: number,
    a: number,
    f: number,
    v: number,
    h: number,
    ds: number,
    dpre: number,
    dq: number,
    dv: number,
    B: number,
    S: number,
    M: number,
    A: number,
  ): void;
  /** The backward of `gru_gates`; `has` bits 1, 2, 4: `dhm`, `dhq`, `dhz` are added to `dy`. */
  gru_gates_grad(
    dy: number,
    dhm: number,
    dhq: number,
    dhz: number,
    has: number,
    h: number,
    hp: number,
    gates: number,
    bias: number,
    dxp: number,
    dhp: number,
    dhzOut: number,
    rows: number,
    d: number,
    perBias: number,
  ): void;
}

let enabled = true;
let fusedWanted = true;
let helperWanted = true;

/**
 * Products with fewer multiply-adds than this run whole on the main thread even when a helper
 * thread is up: posting a job and waking the helper costs ~10-100 microseconds, the time of a
 * few hundred thousand multiply-adds here. Measured on the two training steps with 2^18, 2^20
 * and 2^22: within the machine's noise of each other, 2^22 splits no GRU step product.
 */
export const MIN_SPLIT_WORK = 1 << 20;

/**
 * A shared product is cut into about this many chunks, which the two threads claim one at a time:
 * enough that a helper late to wake (or on a busy core) leaves the main thread at most one small
 * chunk to wait for, few enough that each chunk keeps the tiled loop efficient.
 */
const CHUNKS_PER_PRODUCT = 8;

/**
 * The builds of the module: plain or fused multiply-adds, each importing an unshared heap (the
 * single-threaded backend's) or a shared one (the threaded backend's).
 */
type Build = 'plain' | 'fused' | 'plain-shared' | 'fused-shared';

const BUILD_BYTES: Record<Build, string> = {
  plain: SMALL_MATMUL_WASM_BASE64,
  fused: SMALL_MATMUL_FMA_WASM_BASE64,
  'plain-shared': SMALL_MATMUL_SHARED_WASM_BASE64,
  'fused-shared': SMALL_MATMUL_SHARED_FMA_WASM_BASE64,
};

/** The builds, compiled once each (null: this engine rejects it). */
const compiled = new Map<Build, WebAssembly.Module | null>();

/** The bytes of a base64 module (an `ArrayBuffer`, which TypeScript 5.0 to 5.9 all accept). */
function bytesOf(base64: string): ArrayBuffer {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer as ArrayBuffer;
}

/**
 * V8 accepts Relaxed SIMD by default from version 11.4 (Node 22); Node 20's V8 11.3 has it behind
 * `--experimental-wasm-relaxed-simd`, which can be set while running: it changes only which
 * modules validate. Tried once, and only when the fused module does not validate as it is.
 */
function acceptsRelaxedSimd(bytes: ArrayBuffer): boolean {
  if (WebAssembly.validate(bytes)) return true;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return WebAssembly.validate(bytes);
}

/**
 * A fused build passes a self-check before it is trusted: a 4 x 8 tile of small integers (exact
 * in float32 whether or not the multiply-add is fused) on a memory of its own.
 */
function fusedBuildWorks(module: WebAssembly.Module, shared: boolean): boolean {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared });
  const loops = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Loops;
  const f = new Float32Array(memory.buffer, 0, 4 * 3 + 3 * 8 + 4 * 8);
  for (let i = 0; i < 12; i++) f[i] = i - 5; // A [4, 3]
  for (let i = 0; i < 24; i++) f[12 + i] = (i % 7) - 3; // B [3, 8]
  loops.gemm(0, 12 * 4, 36 * 4, 4, 3, 8, 12, 4, 32);
  for (let m = 0; m < 4; m++) {
    for (let n = 0; n < 8; n++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) sum += f[m * 3 + k] * f[12 + k * 8 + n];
      if (f[36 + m * 8 + n] !== sum) return false;
    }
  }
  return true;
}

function compile(build: Build): WebAssembly.Module | null {
  if (!compiled.has(build)) {
    let module: WebAssembly.Module | null = null;
    try {
      const bytes = bytesOf(BUILD_BYTES[build]);
      const fused = build.startsWith('fused');
      if (!fused || acceptsRelaxedSimd(bytes)) {
        module = new WebAssembly.Module(bytes);
        if (fused && !fusedBuildWorks(module, build.endsWith('shared'))) module = null;
      }
    } catch {
      module = null; // no SIMD (or no Relaxed SIMD, or no shared memory) here
    }
    compiled.set(build, module);
  }
  return compiled.get(build) ?? null;
}

/**
 * Lets `gemm` (the register-tiled product of `tiledMatMul`) use fused multiply-adds where the
 * engine has Relaxed SIMD (the default), or keeps separate multiplies and adds: one rounding per
 * term instead of two, so the two differ in the last bits, and the fused one is 1.2-1.5x faster
 * on a CPU with FMA. Takes effect on the next `smallMatMulLoops` call.
 */
export function useFusedMultiplyAdd(on: boolean): void {
  if (typeof on !== 'boolean') {
    throw new TypeError(`useFusedMultiplyAdd: expected true or false, got ${String(on)}`);
  }
  fusedWanted = on;
}

/** Whether the loops run with fused multiply-adds here (Relaxed SIMD accepted and wanted). */
export function fusedMultiplyAddActive(): boolean {
  return fusedWanted && compile('fused') !== null;
}

/**
 * Switches the loops on (the default) or off: off, `smallBatchMatMul` and `tiledMatMul` decline
 * every product and `smallMatMulLoops` gives null, so products go to the stock kernel or XNNPACK
 * and copies and sums to JavaScript: the comparison that measures what the loops gain.
 */
export function useSmallMatMulLoops(on: boolean): void {
  if (typeof on !== 'boolean') {
    throw new TypeError(`useSmallMatMulLoops: expected true or false, got ${String(on)}`);
  }
  enabled = on;
}
/**
 * Lets the loops split a large product with a helper thread on the threaded build's shared heap
 * (the default), or keeps every product on the main thread. Splitting gives bit-identical
 * results; off is the comparison that measures what the helper gains. Takes effect at once.
 */
export function useLoopHelper(on: boolean): void {
  if (typeof on !== 'boolean') {
    throw new TypeError(`useLoopHelper: expected true or false, got ${String(on)}`);
  }
  helperWanted = on;
}

/** Helper threads per shared heap and build (null: none could start). */
const helpers = new WeakMap<WebAssembly.Memory, Map<Build, LoopHelper | null>>();

/**
 * The helper thread for `backend`'s heap when it is shared and the helper is wanted, started on
 * first use (in the background: null until it is ready).
 */
function readyHelper(backend: BackendWasm): LoopHelper | null {
  if (!helperWanted) return null;
  const helper = loopHelper(backend);
  return helper?.ready ? helper : null;
}

/**
 * The helper thread of `backend`'s shared heap (started here if it is not yet), or null: an
 * unshared heap (the single-threaded build), loops that cannot run there, or switched off.
 * `waitUntilReady()` on it blocks until it takes jobs; `whyNot` says why it does not.
 */
export function loopHelper(backend: BackendWasm): LoopHelper | null {
  if (smallMatMulLoops(backend) === null) return null;
  const memory = heapOf(backend)!;
  if (!isSharedHeap(memory)) return null;
  const build: Build = fusedMultiplyAddActive() ? 'fused-shared' : 'plain-shared';
  let perBuild = helpers.get(memory);
  if (perBuild === undefined) helpers.set(memory, (perBuild = new Map()));
  if (!perBuild.has(build)) {
    const module = compile(build);
    perBuild.set(build, module === null ? null : new LoopHelper(module, memory));
  }
  return perBuild.get(build) ?? null;
}

/** Loops per backend heap and build (null: they cannot run on that heap). */
const instances = {
  plain: new WeakMap<WebAssembly.Memory, Loops | null>(),
  fused: new WeakMap<WebAssembly.Memory, Loops | null>(),
};

/**
 * The backend's `WebAssembly.Memory`, or null: Emscripten's exported `memory` in the
 * single-threaded build; the threaded build creates its shared heap in JavaScript
 * (`wasmMemory`) and imports it, so it exports none.
 */
function heapOf(backend: BackendWasm): WebAssembly.Memory | null {
  const wasm = (
    backend as unknown as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } }
  ).wasm;
  const heap = wasm?.asm?.memory ?? wasm?.wasmMemory;
  return heap instanceof WebAssembly.Memory ? heap : null;
}

/** Whether a heap is a shared memory (the threaded build's). */
function isSharedHeap(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/**
 * The loops instantiated on `backend`'s heap, or null where they cannot run: a heap that is not
 * reachable, or a WebAssembly without SIMD (or, for the threaded build's shared heap, without
 * shared memories); null too while they are switched off (`useSmallMatMulLoops`), so
 * that every user falls back to its other path. Instantiated once per heap and build (the fused
 * one where `fusedMultiplyAddActive()`).
 */
export function smallMatMulLoops(backend: BackendWasm): Loops | null {
  if (!enabled) return null;
  const memory = heapOf(backend);
  if (memory === null) return null;
  const build = fusedMultiplyAddActive() ? 'fused' : 'plain';
  const known = instances[build].get(memory);
  if (known !== undefined) return known;
  let loops: Loops | null = null;
  const module = compile(isSharedHeap(memory) ? `${build}-shared` : build);
  if (module !== null) {
    try {
      loops = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Loops;
    } catch {
      loops = null; // the stock kernels stay in charge
    }
  }
  instances[build].set(memory, loops);
  return loops;
}

/**
 * The byte offset of a tensor's values on the wasm backend's heap: where the loops read and write
 * it (read it after any allocation, which may grow the heap; the offset itself stays valid).
 */
export function heapOffset(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

/** Sizes of one batched product (see `smallBatchMatMul`). */
export interface SmallProductDims {
  /** Batch sizes of a, of b and of the output; a and b are each either nOut or 1. */
  nA: number;
  nB: number;
  nOut: number;
  M: number;
  K: number;
  N: number;
  outShape: number[];
}

/**
 * `C = op(A) op(B)` per batch slice, `[nOut, M, K] x [nOut, K, N] -> [nOut, M, N]`, where op
 * transposes the last two axes when its flag is set; an operand with batch size 1 is shared by
 * every slice. Returns a new float32 tensor, or null when the loops cannot run here or both
 * operands are transposed or the loops are switched off (the caller keeps the stock kernel then).
 */
export function smallBatchMatMul(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  { nA, nB, nOut, M, K, N, outShape }: SmallProductDims,
): TensorInfo | null {
  if (!enabled || (transposeA && transposeB)) return null;
  const loops = smallMatMulLoops(backend);
  if (loops === null) return null;
  if (!((nA === nOut || nA === 1) && (nB === nOut || nB === 1))) {
    throw new RangeError(
      `smallBatchMatMul: expected batch sizes of 1 or ${nOut}, got a ${nA} and b ${nB}`,
    );
  }
  const out = backend.makeOutput(outShape, 'float32');
  // Offsets are read after makeOutput: an allocation may grow the heap (offsets stay valid).
  const offset = (t: TensorInfo): number => heapOffset(backend, t);
  const [pa, pb, pc] = [offset(a), offset(b), offset(out)];
  const F = 4; // bytes per float32
  const aBatch = nA === 1 ? 0 : M * K * F;
  const bBatch = nB === 1 ? 0 : K * N * F;
  // [M, K] x [N, K]^T: rows of both contiguous in k. Otherwise A[m, k] at m * aRow + k * aCol:
  // a transposed A ([K, M] in memory) is read in place.
  const [aRow, aCol] = transposeA ? [F, M * F] : [K * F, F];
  const strides = transposeB ? [aBatch, K * F, bBatch, K * F] : [aBatch, aRow, aCol, bBatch, N * F];
  const loop = transposeB ? 'bmm_nt' : 'bmm_nn';
  const helper = nOut > 1 && nOut * M * K * N >= MIN_SPLIT_WORK ? readyHelper(backend) : null;
  const run = loops[loop] as (...args: number[]) => void;
  const args = [pa, pb, pc, nOut, M, K, N, ...strides];
  if (helper === null) run(...args);
  else {
    // Chunks of slices for both threads.
    const deltas = [aBatch, bBatch, M * N * F] as const;
    const perChunk = Math.ceil(nOut / CHUNKS_PER_PRODUCT);
    helper.share({ loop, args, deltas, units: nOut, perChunk }, (chunk) => run(...chunk));
  }
  return out;
}

/**
 * `C = op(A) B` per batch slice, `[nOut, M, K] x [nOut, K, N] -> [nOut, M, N]`, op transposing
 * the last two axes of A when `transposeA` is set (read in place, not copied), in the tiled loop
 * `gemm` of `small-matmul.wat`: for the larger products that XNNPACK handles badly, the weight
 * gradients `X^T dY` above all (XNNPACK needs A transposed into a copy, and packs B anew on every
 * call). Returns a new float32 tensor, or null when the loops cannot run here, B is transposed
 * or the loops are switched off (the caller keeps its other paths then).
 */
export function tiledMatMul(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  { nA, nB, nOut, M, K, N, outShape }: SmallProductDims,
): TensorInfo | null {
  if (!enabled || transposeB) return null;
  const loops = smallMatMulLoops(backend);
  if (loops === null) return null;
  if (!((nA === nOut || nA === 1) && (nB === nOut || nB === 1))) {
    throw new RangeError(
      `tiledMatMul: expected batch sizes of 1 or ${nOut}, got a ${nA} and b ${nB}`,
    );
  }
  const out = backend.makeOutput(outShape, 'float32');
  // Views and offsets after makeOutput: an allocation may grow the heap (offsets stay valid).
  backend.typedArrayFromHeap(out).fill(0); // gemm accumulates into C
  const offset = (t: TensorInfo): number => heapOffset(backend, t);
  const [pa, pb, pc] = [offset(a), offset(b), offset(out)];
  const F = 4; // bytes per float32
  // A[m, k] at m * aRow + k * aCol: a transposed A ([K, M] in memory) is read in place.
  const [aRow, aCol] = transposeA ? [F, M * F] : [K * F, F];
  // Large products in chunks of rows for both threads, each a multiple of the tile's 4 rows, so
  // that every row is summed by the same code as in one thread.
  const helper = M >= 8 && M * K * N >= MIN_SPLIT_WORK ? readyHelper(backend) : null;
  const perChunk = Math.ceil(M / CHUNKS_PER_PRODUCT / 4) * 4;
  const gemm = (args: number[]): void => loops.gemm(...(args as Parameters<Loops['gemm']>));
  for (let i = 0; i < nOut; i++) {
    const ai = nA === 1 ? pa : pa + i * M * K * F;
    const bi = nB === 1 ? pb : pb + i * K * N * F;
    const args = [ai, bi, pc + i * M * N * F, M, K, N, aRow, aCol, N * F];
    if (helper === null) gemm(args);
    else helper.share({ loop: 'gemm', args, deltas: [aRow, 0, N * F], units: M, perChunk }, gemm);
  }
  return out;
}
