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
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { SMALL_MATMUL_WASM_BASE64 } from './small-matmul-wasm';

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
}

let compiled: WebAssembly.Module | null = null;
let enabled = true;

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
/** Loops per backend heap (null: they cannot run on that heap). */
const instances = new WeakMap<WebAssembly.Memory, Loops | null>();

/** The backend's `WebAssembly.Memory` (Emscripten's exported `memory`), or null. */
function heapOf(backend: BackendWasm): WebAssembly.Memory | null {
  const exported = (backend as unknown as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm
    ?.memory;
  return exported instanceof WebAssembly.Memory ? exported : null;
}

/**
 * The loops instantiated on `backend`'s heap, or null where they cannot run: a heap that is not
 * reachable, or shared (the threaded build: the module imports an unshared memory), or a
 * WebAssembly without SIMD; null too while they are switched off (`useSmallMatMulLoops`), so
 * that every user falls back to its other path. Instantiated once per heap.
 */
export function smallMatMulLoops(backend: BackendWasm): Loops | null {
  if (!enabled) return null;
  const memory = heapOf(backend);
  if (memory === null) return null;
  const known = instances.get(memory);
  if (known !== undefined) return known;
  let loops: Loops | null = null;
  const shared =
    typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  if (!shared) {
    try {
      compiled ??= new WebAssembly.Module(
        Uint8Array.from(atob(SMALL_MATMUL_WASM_BASE64), (c) => c.charCodeAt(0)),
      );
      loops = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as Loops;
    } catch {
      loops = null; // no SIMD here: the stock kernel stays in charge
    }
  }
  instances.set(memory, loops);
  return loops;
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
  const offset = (t: TensorInfo): number => backend.dataIdMap.get(t.dataId)!.memoryOffset;
  const [pa, pb, pc] = [offset(a), offset(b), offset(out)];
  const F = 4; // bytes per float32
  const aBatch = nA === 1 ? 0 : M * K * F;
  const bBatch = nB === 1 ? 0 : K * N * F;
  if (transposeB) {
    // [M, K] x [N, K]^T: rows of both contiguous in k.
    loops.bmm_nt(pa, pb, pc, nOut, M, K, N, aBatch, K * F, bBatch, K * F);
  } else {
    // A[m, k] at m * aRow + k * aCol: a transposed A ([K, M] in memory) is read in place.
    const [aRow, aCol] = transposeA ? [F, M * F] : [K * F, F];
    loops.bmm_nn(pa, pb, pc, nOut, M, K, N, aBatch, aRow, aCol, bBatch, N * F);
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
  const offset = (t: TensorInfo): number => backend.dataIdMap.get(t.dataId)!.memoryOffset;
  const [pa, pb, pc] = [offset(a), offset(b), offset(out)];
  const F = 4; // bytes per float32
  // A[m, k] at m * aRow + k * aCol: a transposed A ([K, M] in memory) is read in place.
  const [aRow, aCol] = transposeA ? [F, M * F] : [K * F, F];
  for (let i = 0; i < nOut; i++) {
    const ai = nA === 1 ? pa : pa + i * M * K * F;
    const bi = nB === 1 ? pb : pb + i * K * N * F;
    loops.gemm(ai, bi, pc + i * M * N * F, M, K, N, aRow, aCol, N * F);
  }
  return out;
}
