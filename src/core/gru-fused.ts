/**
 * One GRU step as a single differentiable op with a hand-written backward (`tf.customGrad`), for
 * the sequence layers and the decoders: the same equations as `GRUCell.applyGates` (`gru.ts`),
 * in far fewer kernels.
 *
 * Why: a training step of a recurrent model is dominated by the number of kernels, not by its
 * arithmetic (`npm run bench -- profile seq2seq`). Autograd through the plain step records ~13
 * forward ops and replays ~40 backward kernels per step; this op runs, per step,
 *
 * ```text
 * forward:  hp = h W_h + b_h                     one (fused) product
 *           h', gates = GRUGates(xp, hp, h)      one element-wise kernel (r, z, n, h')
 * backward: dxp, dhp, dh_z = GRUGatesGrad(...)   one element-wise kernel
 *           dh = dh_z + dhp W_h^T                one product and an add
 *           dW_h = h^T dhp, db_h = sum(dhp)      one product and a sum
 * ```
 *
 * The two element-wise kernels are JavaScript loops over the backend's own memory (the wasm heap,
 * or the cpu backend's arrays), registered for the `wasm` and `cpu` backends; on any other backend
 * (or with `setFusedGru(false)`) the plain ops of `GRUCell.applyGates` run instead. Equal to the
 * plain step within float32 rounding (`test/core/gru-fused.test.ts`: values and gradients, 1e-5).
 *
 * Backward of the gate math, with `a_r, a_z, a_n` the pre-activations and `g = dL/dh'`:
 *
 * ```text
 * dz = g (h - n)        dn = g (1 - z)        dh_z = g z           (h' = n + z (h - n))
 * da_n = dn (1 - n^2)   da_r = da_n hn r (1 - r)   da_z = dz z (1 - z)
 * dxp = [da_r, da_z, da_n]                  dhp = [da_r, da_z, da_n r]
 * ```
 *
 * with `hn` the `n` block of `hp` (the reset gate multiplies it, PyTorch's variant).
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;

const FORWARD = 'AttentionHandsOnGRUGates';
const BACKWARD = 'AttentionHandsOnGRUGatesGrad';
const BACKENDS = ['wasm', 'cpu'] as const;

let enabled = true;

/**
 * Turns the fused GRU step on or off (it is on by default); returns the previous setting. Off,
 * every GRU step runs the plain ops (for comparisons and benchmarks).
 */
export function setFusedGru(on: boolean): boolean {
  if (typeof on !== 'boolean') throw new TypeError(`on: expected true or false, got ${String(on)}`);
  const previous = enabled;
  enabled = on;
  return previous;
}

/** Whether `gruStep` runs fused on the active backend. */
export function fusedGruActive(): boolean {
  if (!enabled) return false;
  const name = tf.getBackend();
  if (!(BACKENDS as readonly string[]).includes(name)) return false;
  registerKernels();
  return true;
}

/** Array access to float32 tensors of the wasm and cpu backends, and new outputs. */
interface Memory {
  /** Allocates every output first (growing the wasm heap detaches older views). */
  alloc(shapes: number[][]): TensorInfo[];
  view(x: TensorInfo): Float32Array;
}

function memoryOf(backend: unknown): Memory {
  const b = backend as {
    typedArrayFromHeap?: (x: TensorInfo) => Float32Array;
    makeOutput?: (shape: number[], dtype: string) => TensorInfo;
    makeTensorInfo?: (shape: number[], dtype: string, values: Float32Array) => TensorInfo;
    data?: { get(id: unknown): { values: Float32Array } };
  };
  if (b.typedArrayFromHeap && b.makeOutput) {
    const heap = b.typedArrayFromHeap.bind(b);
    const make = b.makeOutput.bind(b);
    return { alloc: (shapes) => shapes.map((s) => make(s, 'float32')), view: heap };
  }
  if (b.makeTensorInfo && b.data) {
    const make = b.makeTensorInfo.bind(b);
    const data = b.data;
    return {
      alloc: (shapes) =>
        shapes.map((s) => make(s, 'float32', new Float32Array(s.reduce((p, d) => p * d, 1)))),
      view: (x) => data.get(x.dataId).values,
    };
  }
  throw new Error('GRU gates kernel: expected the wasm or cpu backend');
}

/** `[.., 3D]` -> rows and `D`. */
function rowsAndWidth(xp: TensorInfo): [number, number] {
  const g = xp.shape[xp.shape.length - 1];
  const rows = xp.shape.reduce((p, d) => p * d, 1) / g;
  return [rows, g / 3];
}

/** Forward gate math: inputs `xp, hp [.., 3D]`, `h [.., D]`; outputs `h' [.., D]`, `r|z|n [.., 3D]`. */
function gatesKernel(args: Parameters<tf.KernelFunc>[0]): TensorInfo[] {
  const { xp, hp, h } = args.inputs as { xp: TensorInfo; hp: TensorInfo; h: TensorInfo };
  const mem = memoryOf(args.backend);
  const [rows, d] = rowsAndWidth(xp);
  const [hNewInfo, gatesInfo] = mem.alloc([h.shape, xp.shape]);
  const X = mem.view(xp);
  const P = mem.view(hp);
  const H = mem.view(h);
  const out = mem.view(hNewInfo);
  const gates = mem.view(gatesInfo);
  for (let row = 0; row < rows; row++) {
    const g0 = row * 3 * d;
    const h0 = row * d;
    for (let j = 0; j < d; j++) {
      const r = 1 / (1 + Math.exp(-(X[g0 + j] + P[g0 + j])));
      const z = 1 / (1 + Math.exp(-(X[g0 + d + j] + P[g0 + d + j])));
      const n = Math.tanh(X[g0 + 2 * d + j] + r * P[g0 + 2 * d + j]);
      gates[g0 + j] = r;
      gates[g0 + d + j] = z;
      gates[g0 + 2 * d + j] = n;
      out[h0 + j] = n + z * (H[h0 + j] - n);
    }
  }
  return [hNewInfo, gatesInfo];
}

/** Backward gate math: inputs `dh, h [.., D]`, `hp, gates [.., 3D]`; outputs `dxp, dhp [.., 3D]`, `dh_z [.., D]`. */
function gatesGradKernel(args: Parameters<tf.KernelFunc>[0]): TensorInfo[] {
  const { dh, h, hp, gates } = args.inputs as Record<string, TensorInfo>;
  const mem = memoryOf(args.backend);
  const [rows, d] = rowsAndWidth(hp);
  const [dxpInfo, dhpInfo, dhzInfo] = mem.alloc([hp.shape, hp.shape, h.shape]);
  const G = mem.view(dh);
  const H = mem.view(h);
  const P = mem.view(hp);
  const A = mem.view(gates);
  const dxp = mem.view(dxpInfo);
  const dhp = mem.view(dhpInfo);
  const dhz = mem.view(dhzInfo);
  for (let row = 0; row < rows; row++) {
    const g0 = row * 3 * d;
    const h0 = row * d;
    for (let j = 0; j < d; j++) {
      const r = A[g0 + j];
      const z = A[g0 + d + j];
      const n = A[g0 + 2 * d + j];
      const g = G[h0 + j];
      const daN = g * (1 - z) * (1 - n * n);
      const daR = daN * P[g0 + 2 * d + j] * r * (1 - r);
      const daZ = g * (H[h0 + j] - n) * z * (1 - z);
      dxp[g0 + j] = daR;
      dxp[g0 + d + j] = daZ;
      dxp[g0 + 2 * d + j] = daN;
      dhp[g0 + j] = daR;
      dhp[g0 + d + j] = daZ;
      dhp[g0 + 2 * d + j] = daN * r;
      dhz[h0 + j] = g * z;
    }
  }
  return [dxpInfo, dhpInfo, dhzInfo];
}

let registered = false;

function registerKernels(): void {
  if (registered) return;
  for (const backendName of BACKENDS) {
    if (tf.getKernel(FORWARD, backendName) === undefined) {
      tf.registerKernel({ kernelName: FORWARD, backendName, kernelFunc: gatesKernel });
    }
    if (tf.getKernel(BACKWARD, backendName) === undefined) {
      tf.registerKernel({ kernelName: BACKWARD, backendName, kernelFunc: gatesGradKernel });
    }
  }
  registered = true;
}

/** `x` summed down to `shape` (the axes that `shape` broadcast over). */
function sumTo(x: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.broadcast_util.getReductionAxes(shape, x.shape);
  return (axes.length > 0 ? tf.sum(x, axes) : x).reshape(shape);
}

/** `h W_h + b_h`: `[B, D] x [D, 3D] + [3D]` in one kernel, or the batched `[N, B, D] x [N, D, 3D] + [N, 1, 3D]`. */
function hiddenProjection(h: tf.Tensor, wH: tf.Tensor, bH: tf.Tensor): tf.Tensor {
  return wH.rank === 2 && bH.rank === 1
    ? tf.fused.matMul({ a: h as tf.Tensor2D, b: wH as tf.Tensor2D, bias: bH }) // [B, D] x [D, 3D] + [3D] -> [B, 3D]
    : tf.add(tf.matMul(h, wH), bH); // [N, B, D] x [N, D, 3D] + [N, 1, 3D] -> [N, B, 3D]
}

/**
 * One fused GRU step (see the module comment); call only when `fusedGruActive()`. No input
 * checks: callers (`GRUCell.applyGates`) check theirs.
 * @param xp `[(N,) B, 3D]` the projected input `x W_x + b_x`
 * @param h `[(N,) B, D]` the previous state
 * @param wH `[(N,) D, 3D]`
 * @param bH `[3D]` or `[N, 1, 3D]`
 * @returns `h' [(N,) B, D]`
 */
export function gruStepFused(xp: tf.Tensor, h: tf.Tensor, wH: tf.Tensor, bH: tf.Tensor): tf.Tensor {
  const step = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, hPrev, w, b] = args as tf.Tensor[];
    const save = args[4] as tf.GradSaveFunc;
    const hp = hiddenProjection(hPrev, w, b); // [(N,) B, 3D]
    const [hNew, gates] = tf.engine().runKernel(FORWARD, { xp: x, hp, h: hPrev }) as tf.Tensor[];
    save([hPrev, hp, gates, w]);
    return {
      value: hNew,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hS, hpS, gatesS, wS] = saved;
        const [dxp, dhp, dhz] = tf
          .engine()
          .runKernel(BACKWARD, { dh: dy, h: hS, hp: hpS, gates: gatesS }) as tf.Tensor[];
        const dh = tf.add(dhz, tf.matMul(dhp, wS, false, true)); // [(N,) B, 3D] x [(N,) D, 3D]^T -> [(N,) B, D]
        const dw = tf.matMul(hS, dhp, true, false); // [(N,) B, D]^T x [(N,) B, 3D] -> [(N,) D, 3D]
        const db = sumTo(dhp, b.shape); // [(N,) B, 3D] -> bH's shape
        return [dxp, dh, dw, db];
      },
    };
  });
  return step(xp, h, wH, bH);
}
