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
 * The two element-wise kernels are registered for the `wasm` and `cpu` backends. On wasm, for
 * widths `D` that are multiples of 4, they are the course's SIMD loops on the heap (`gru_gates`,
 * `gru_gates_grad` in `small-matmul.wat`, with a vectorised sigmoid: ~0.13 ms for a `[128, 128]`
 * step against ~0.45 ms in JavaScript); otherwise JavaScript loops over the backend's own memory.
 * On any other backend (or with `setFusedOps(false)`) the plain ops of `GRUCell.applyGates` run
 * instead. Equal to the plain step within float32 rounding (`test/core/gru-fused.test.ts`: values
 * and gradients, 1e-5).
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
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset, smallMatMulLoops } from '../backend/small-matmul';

type TensorInfo = tf.TensorInfo;

const FORWARD = 'AttentionHandsOnGRUGates';
const BACKWARD = 'AttentionHandsOnGRUGatesGrad';
const BACKENDS = ['wasm', 'cpu'] as const;

let enabled = true;

/**
 * Turns the fused ops of the recurrent models on or off (on by default): the GRU step and
 * sequence here, and `BahdanauSeq2Seq`'s teacher-forced decoder (`bahdanau-fused.ts`) and
 * decoding step. Returns the previous setting. Off, they run the plain ops (for comparisons and
 * benchmarks).
 */
export function setFusedOps(on: boolean): boolean {
  if (typeof on !== 'boolean') throw new TypeError(`on: expected true or false, got ${String(on)}`);
  const previous = enabled;
  enabled = on;
  return previous;
}

/** Whether the fused ops are on (`setFusedOps`), whatever the backend. */
export function fusedOpsEnabled(): boolean {
  return enabled;
}

/** Whether the fused GRU ops run on the active backend (on, and wasm or cpu). */
export function fusedGruActive(): boolean {
  if (!enabled) return false;
  const name = tf.getBackend();
  if (!(BACKENDS as readonly string[]).includes(name)) return false;
  registerKernels();
  return true;
}

/** Array access to float32 tensors of the wasm and cpu backends, new outputs, and a sigmoid. */
interface Memory {
  /** Allocates every output first (growing the wasm heap detaches older views). */
  alloc(shapes: number[][]): TensorInfo[];
  /** A view of a tensor's values; take views again after any allocation. */
  view(x: TensorInfo): Float32Array;
  /** `1 / (1 + exp(-x))` as a new tensor: the backend's own (vectorised on wasm) kernel. */
  sigmoid(x: TensorInfo): TensorInfo;
  free(x: TensorInfo): void;
}

function memoryOf(backend: unknown): Memory {
  const b = backend as {
    typedArrayFromHeap?: (x: TensorInfo) => Float32Array;
    makeOutput?: (shape: number[], dtype: string) => TensorInfo;
    makeTensorInfo?: (shape: number[], dtype: string, values: Float32Array) => TensorInfo;
    data?: { get(id: unknown): { values: Float32Array } };
    disposeData(id: unknown): void;
  };
  const name = b.typedArrayFromHeap && b.makeOutput ? 'wasm' : 'cpu';
  const sigmoidKernel = tf.getKernel(tf.Sigmoid, name);
  if (sigmoidKernel === undefined)
    throw new Error(`GRU gates kernel: expected a ${name} Sigmoid kernel`);
  const sigmoid = (x: TensorInfo): TensorInfo =>
    sigmoidKernel.kernelFunc({
      inputs: { x },
      backend: backend as tf.KernelBackend,
      attrs: {},
    }) as TensorInfo;
  const free = (x: TensorInfo): void => b.disposeData(x.dataId);
  if (b.typedArrayFromHeap && b.makeOutput) {
    const heap = b.typedArrayFromHeap.bind(b);
    const make = b.makeOutput.bind(b);
    return { alloc: (shapes) => shapes.map((s) => make(s, 'float32')), view: heap, sigmoid, free };
  }
  if (b.makeTensorInfo && b.data) {
    const make = b.makeTensorInfo.bind(b);
    const data = b.data;
    return {
      alloc: (shapes) =>
        shapes.map((s) => make(s, 'float32', new Float32Array(tf.util.sizeFromShape(s)))),
      view: (x) => data.get(x.dataId).values,
      sigmoid,
      free,
    };
  }
  throw new Error('GRU gates kernel: expected the wasm or cpu backend');
}

/**
 * The course's SIMD loops (`gru_gates`, `gru_gates_grad` in `small-matmul.wat`) on the wasm
 * backend's heap, with a helper that gives a tensor's byte offset there; null on the cpu backend,
 * where the loops cannot run or are switched off (`useSmallMatMulLoops`), and where `d` is not a
 * multiple of 4 (the loops work on 4 columns at a time): the JavaScript loops below run then.
 */
function simdLoops(backend: unknown, d: number) {
  const b = backend as Partial<BackendWasm>;
  if (d === 0 || d % 4 !== 0 || b.dataIdMap === undefined || b.makeOutput === undefined)
    return null;
  const loops = smallMatMulLoops(b as BackendWasm);
  if (loops === null) return null;
  const at = (x: TensorInfo): number => heapOffset(b as BackendWasm, x);
  const make = (shape: number[]): TensorInfo => b.makeOutput!(shape, 'float32');
  return { loops, at, make };
}

/**
 * Forward gate math of one step. Inputs: `xp` (a whole `[S, .., 3D]` sequence, read from element
 * `offset` on), optionally `xc [.., 3D]` (a second part of the projected input, added to `xp`:
 * the context's part in an attention decoder), `hp = h W_h` without bias `[.., 3D]`, `h [.., D]`,
 * `bH` (`[3D]` or `[N, 1, 3D]`, one row per direction). Outputs: `h' [.., D]` and the gates
 * `r|z|n [.., 3D]`. The arithmetic is the SIMD loop `gru_gates` where `simdLoops` allows, else
 * JavaScript over the backend's memory, the exponentials through the backend's Sigmoid kernel
 * (XNNPACK's vectorised one on wasm: JavaScript's `Math.exp` made this kernel slower than the
 * plain ops), with `tanh(a) = 2 sigmoid(2a) - 1`.
 */
function gatesKernel(args: Parameters<tf.KernelFunc>[0]): TensorInfo[] {
  const { xp, hp, h, bH } = args.inputs as Record<string, TensorInfo>;
  const xc = (args.inputs as Record<string, TensorInfo | undefined>).xc;
  const offset = (args.attrs as { offset: number }).offset;
  const g3 = hp.shape[hp.shape.length - 1];
  const d = g3 / 3;
  const rows = tf.util.sizeFromShape(h.shape) / d;
  const perBias = rows / (tf.util.sizeFromShape(bH.shape) / g3);
  const simd = simdLoops(args.backend, d);
  if (simd !== null) {
    const { loops, at, make } = simd;
    const [hNew, gates] = [make(h.shape), make(hp.shape)]; // offsets read after both allocations
    const [pxc, hasXc] = xc === undefined ? [0, 0] : [at(xc), 1];
    loops.gru_gates(
      at(xp) + 4 * offset,
      pxc,
      at(hp),
      at(h),
      at(bH),
      at(hNew),
      at(gates),
      rows,
      d,
      perBias,
      hasXc,
    );
    return [hNew, gates];
  }
  const mem = memoryOf(args.backend); // the JavaScript loops
  const [hNewInfo, gatesInfo, preInfo, pre2Info] = mem.alloc([
    h.shape,
    hp.shape,
    [rows, 2 * d],
    [rows, d],
  ]);
  let rzInfo: TensorInfo | null = null;
  let nInfo: TensorInfo | null = null;
  try {
    // 1) pre-activations of r and z, [rows, 2D]
    let X = mem.view(xp);
    let XC = xc === undefined ? null : mem.view(xc);
    let P = mem.view(hp);
    let Bias = mem.view(bH);
    const pre = mem.view(preInfo);
    for (let row = 0; row < rows; row++) {
      const g0 = row * g3;
      const x0 = offset + g0;
      const b0 = Math.floor(row / perBias) * g3;
      const p0 = row * 2 * d;
      if (XC === null) {
        for (let j = 0; j < 2 * d; j++) pre[p0 + j] = X[x0 + j] + P[g0 + j] + Bias[b0 + j];
      } else {
        for (let j = 0; j < 2 * d; j++) {
          pre[p0 + j] = X[x0 + j] + XC[g0 + j] + P[g0 + j] + Bias[b0 + j];
        }
      }
    }
    rzInfo = mem.sigmoid(preInfo);
    // 2) twice the pre-activation of n, [rows, D]
    X = mem.view(xp);
    XC = xc === undefined ? null : mem.view(xc);
    P = mem.view(hp);
    Bias = mem.view(bH);
    let RZ = mem.view(rzInfo);
    const pre2 = mem.view(pre2Info);
    for (let row = 0; row < rows; row++) {
      const g0 = row * g3;
      const x0 = offset + g0 + 2 * d;
      const b0 = Math.floor(row / perBias) * g3 + 2 * d;
      const p0 = row * 2 * d;
      const h0 = row * d;
      for (let j = 0; j < d; j++) {
        const x = XC === null ? X[x0 + j] : X[x0 + j] + XC[g0 + 2 * d + j];
        pre2[h0 + j] = 2 * (x + RZ[p0 + j] * (P[g0 + 2 * d + j] + Bias[b0 + j]));
      }
    }
    nInfo = mem.sigmoid(pre2Info);
    // 3) n = 2 sigmoid(2 a_n) - 1, h' = n + z (h - n)
    RZ = mem.view(rzInfo);
    const S2 = mem.view(nInfo);
    const H = mem.view(h);
    const out = mem.view(hNewInfo);
    const gates = mem.view(gatesInfo);
    for (let row = 0; row < rows; row++) {
      const g0 = row * g3;
      const p0 = row * 2 * d;
      const h0 = row * d;
      for (let j = 0; j < d; j++) {
        const z = RZ[p0 + d + j];
        const n = 2 * S2[h0 + j] - 1;
        gates[g0 + j] = RZ[p0 + j];
        gates[g0 + d + j] = z;
        gates[g0 + 2 * d + j] = n;
        out[h0 + j] = n + z * (H[h0 + j] - n);
      }
    }
  } finally {
    for (const t of [preInfo, pre2Info, rzInfo, nInfo]) if (t !== null) mem.free(t);
  }
  return [hNewInfo, gatesInfo];
}

/**
 * Backward gate math of one step. Inputs: `dy` (the gradient of the outputs, a whole `[S, .., D]`
 * sequence read from element `offset` on), optionally `dhm`, `dhq` and `dhz` `[.., D]` (the
 * gradient reaching `h'` from the next step: the product `dhp W_h^T`, in an attention decoder the
 * query's part `dq W_a^T`, and the direct part `g z`), `h [.., D]`,
 * `hp [.., 3D]` (without bias), `gates [.., 3D]`, `bH`. Outputs: `dxp, dhp [.., 3D]`, `dh_z [.., D]`.
 */
function gatesGradKernel(args: Parameters<tf.KernelFunc>[0]): TensorInfo[] {
  const { dy, dhm, dhq, dhz, h, hp, gates, bH } = args.inputs as Record<
    string,
    TensorInfo | undefined
  >;
  const offset = (args.attrs as { offset: number }).offset;
  const g3 = hp!.shape[hp!.shape.length - 1];
  const d = g3 / 3;
  const rows = tf.util.sizeFromShape(h!.shape) / d;
  const perBias = rows / (tf.util.sizeFromShape(bH!.shape) / g3);
  const simd = simdLoops(args.backend, d);
  if (simd !== null) {
    const { loops, at, make } = simd;
    const outs = [make(hp!.shape), make(hp!.shape), make(h!.shape)]; // dxp, dhp, dh_z
    const carried = [dhm, dhq, dhz].map((t) => (t === undefined ? 0 : at(t)));
    const has = (dhm ? 1 : 0) | (dhq ? 2 : 0) | (dhz ? 4 : 0);
    const [dxp, dhp, dhzOut] = outs.map(at);
    loops.gru_gates_grad(
      at(dy!) + 4 * offset,
      ...(carried as [number, number, number]),
      has,
      at(h!),
      at(hp!),
      at(gates!),
      at(bH!),
      dxp,
      dhp,
      dhzOut,
      rows,
      d,
      perBias,
    );
    return outs;
  }
  const mem = memoryOf(args.backend); // the JavaScript loops
  const [dxpInfo, dhpInfo, dhzInfo] = mem.alloc([hp!.shape, hp!.shape, h!.shape]);
  const G = mem.view(dy!);
  const M = dhm === undefined ? null : mem.view(dhm);
  const Q = dhq === undefined ? null : mem.view(dhq);
  const Z = dhz === undefined ? null : mem.view(dhz);
  const H = mem.view(h!);
  const P = mem.view(hp!);
  const A = mem.view(gates!);
  const Bias = mem.view(bH!);
  const dxp = mem.view(dxpInfo);
  const dhp = mem.view(dhpInfo);
  const dhzOut = mem.view(dhzInfo);
  for (let row = 0; row < rows; row++) {
    const g0 = row * g3;
    const b0 = Math.floor(row / perBias) * g3;
    const h0 = row * d;
    for (let j = 0; j < d; j++) {
      const r = A[g0 + j];
      const z = A[g0 + d + j];
      const n = A[g0 + 2 * d + j];
      let g = G[offset + h0 + j];
      if (M !== null) g += M[h0 + j];
      if (Q !== null) g += Q[h0 + j];
      if (Z !== null) g += Z[h0 + j];
      const daN = g * (1 - z) * (1 - n * n);
      const daR = daN * (P[g0 + 2 * d + j] + Bias[b0 + 2 * d + j]) * r * (1 - r);
      const daZ = g * (H[h0 + j] - n) * z * (1 - z);
      dxp[g0 + j] = daR;
      dxp[g0 + d + j] = daZ;
      dxp[g0 + 2 * d + j] = daN;
      dhp[g0 + j] = daR;
      dhp[g0 + d + j] = daZ;
      dhp[g0 + 2 * d + j] = daN * r;
      dhzOut[h0 + j] = g * z;
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
    const hp = tf.matMul(hPrev, w); // [(N,) B, D] x [(N,) D, 3D] -> [(N,) B, 3D]
    const [hNew, gates] = gruGatesForward(x, 0, null, hp, hPrev, b);
    save([hPrev, hp, gates, w, b]);
    return {
      value: hNew,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hS, hpS, gatesS, wS, bS] = saved;
        const [dxp, dhp, dhz] = gruGatesBackward(dy, 0, {}, hS, hpS, gatesS, bS);
        const dh = tf.add(dhz, tf.matMul(dhp, wS, false, true)); // [(N,) B, 3D] x [(N,) D, 3D]^T -> [(N,) B, D]
        const dw = tf.matMul(hS, dhp, true, false); // [(N,) B, D]^T x [(N,) B, 3D] -> [(N,) D, 3D]
        const db = sumTo(dhp, bS.shape); // [(N,) B, 3D] -> bH's shape
        return [dxp, dh, dw, db];
      },
    };
  });
  return step(xp, h, wH, bH);
}

/**
 * The forward gate kernel of one step (no gradient: for use inside a `tf.customGrad`; call only
 * when `fusedGruActive()`). An attention decoder's projected input comes in two parts, `xps[t]`
 * and `xc`.
 * @param xps `[T, (N,) B, 3D]` the projected inputs of every step, read at step `t`
 * @param t the step
 * @param xc `[(N,) B, 3D]` a second part of the projected input (the context's), or null
 * @param hp `[(N,) B, 3D]` `h W_h`, without bias
 * @param h `[(N,) B, D]` the previous state
 * @param bH `[3D]` or `[N, 1, 3D]`
 * @returns `h' [(N,) B, D]` and the gates `r|z|n [(N,) B, 3D]` (what `gruGatesBackward` needs)
 */
export function gruGatesForward(
  xps: tf.Tensor,
  t: number,
  xc: tf.Tensor | null,
  hp: tf.Tensor,
  h: tf.Tensor,
  bH: tf.Tensor,
): [tf.Tensor, tf.Tensor] {
  const inputs: Record<string, tf.Tensor> = { xp: xps, hp, h, bH };
  if (xc !== null) inputs.xc = xc;
  const offset = t * tf.util.sizeFromShape(hp.shape);
  const out = tf.engine().runKernel(FORWARD, inputs, { offset });
  return out as unknown as [tf.Tensor, tf.Tensor];
}

/**
 * The backward gate kernel of one step, the counterpart of `gruGatesForward` (no gradient).
 * `g = dy[t] + dhm + dhq + dhz` is the gradient reaching `h'`.
 * @param dy `[T, (N,) B, D]` the gradient of every step's output, read at step `t`
 * @param carry `[(N,) B, D]` each, from step `t + 1` (none at the last step): `dhp W_h^T`, in an
 *   attention decoder `dq W_a^T`, and `g z`
 * @param h `[(N,) B, D]`, `hp [(N,) B, 3D]`, `gates [(N,) B, 3D]`, `bH`: what the forward used
 *   and made
 * @returns `dxp [(N,) B, 3D]` (the gradient of the projected input, both parts), `dhp` and the
 *   direct part `g z [(N,) B, D]` of the gradient of `h`
 */
export function gruGatesBackward(
  dy: tf.Tensor,
  t: number,
  carry: { dhm?: tf.Tensor; dhq?: tf.Tensor; dhz?: tf.Tensor },
  h: tf.Tensor,
  hp: tf.Tensor,
  gates: tf.Tensor,
  bH: tf.Tensor,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const inputs: Record<string, tf.Tensor> = { dy, h, hp, gates, bH };
  for (const [name, x] of Object.entries(carry)) if (x !== undefined) inputs[name] = x;
  const offset = t * tf.util.sizeFromShape(h.shape);
  const out = tf.engine().runKernel(BACKWARD, inputs, { offset });
  return out as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}

/**
 * A whole GRU recurrence as one op (see the module comment): the states of every step from the
 * projected inputs of every step. Backward through time by hand: per step one element-wise kernel
 * and one `[B, 3D] x [3D, D]` product; the weight gradient is one product over all steps. Call
 * only when `fusedGruActive()`; no input checks.
 * @param xps `[S, (N,) B, 3D]` the projected inputs `x_t W_x + b_x` of every step
 * @param h0 `[(N,) B, D]` the initial state
 * @param wH `[(N,) D, 3D]`
 * @param bH `[3D]` or `[N, 1, 3D]`
 * @returns `[S, (N,) B, D]` the state after every step
 */
export function gruSequenceFused(
  xps: tf.Tensor,
  h0: tf.Tensor,
  wH: tf.Tensor,
  bH: tf.Tensor,
): tf.Tensor {
  const steps = xps.shape[0];
  const stacked = wH.rank === 3; // N directions on axis 1 of the sequences
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, hInit, w, b] = args as tf.Tensor[];
    const save = args[4] as tf.GradSaveFunc;
    const hs: tf.Tensor[] = []; // h_0 .. h_S
    const hps: tf.Tensor[] = [];
    const gateList: tf.Tensor[] = [];
    let h = hInit;
    hs.push(h);
    for (let t = 0; t < steps; t++) {
      const hp = tf.matMul(h, w); // [(N,) B, D] x [(N,) D, 3D] -> [(N,) B, 3D]
      const [hNew, gates] = gruGatesForward(x, t, null, hp, h, b);
      hps.push(hp);
      gateList.push(gates);
      hs.push(hNew);
      h = hNew;
    }
    save([w, b, ...hs, ...hps, ...gateList]);
    return {
      value: tf.stack(hs.slice(1)), // S x [(N,) B, D] -> [S, (N,) B, D]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [wS, bS] = saved;
        const hS = saved.slice(2, 3 + steps); // h_0 .. h_S
        const hpS = saved.slice(3 + steps, 3 + 2 * steps);
        const gatesS = saved.slice(3 + 2 * steps);
        const dxps: tf.Tensor[] = new Array<tf.Tensor>(steps);
        const dhps: tf.Tensor[] = new Array<tf.Tensor>(steps);
        let dhm: tf.Tensor | null = null;
        let dhz: tf.Tensor | null = null;
        // W_h^T once for all steps (a transpose flag would transpose it again at every step)
        const wT = wS.rank === 3 ? tf.transpose(wS, [0, 2, 1]) : tf.transpose(wS); // [(N,) D, 3D] -> [(N,) 3D, D]
        for (let t = steps - 1; t >= 0; t--) {
          const carry = dhm === null ? {} : { dhm, dhz: dhz! };
          const [dxp, dhp, dz] = gruGatesBackward(dy, t, carry, hS[t], hpS[t], gatesS[t], bS);
          dxps[t] = dxp;
          dhps[t] = dhp;
          dhz = dz;
          dhm = tf.matMul(dhp, wT); // [(N,) B, 3D] x [(N,) 3D, D] -> [(N,) B, D]
        }
        const dh0 = steps === 0 ? tf.zerosLike(hInit) : tf.add(dhz!, dhm!); // [(N,) B, D]
        // weight gradient, all steps in one product: sum_t h_{t-1}^T dhp_t
        const axis = stacked ? 1 : 0;
        const g3 = w.shape[w.rank - 1];
        const d = g3 / 3;
        const lead = stacked ? [w.shape[0]] : [];
        const hPrev = tf.stack(hS.slice(0, steps), axis).reshape([...lead, -1, d]); // [(N,) S*B, D]
        const dHp = tf.stack(dhps, axis).reshape([...lead, -1, g3]); // [(N,) S*B, 3D]
        const dw = tf.matMul(hPrev, dHp, true, false); // [(N,) D, S*B] x [(N,) S*B, 3D] -> [(N,) D, 3D]
        const db = sumTo(dHp, b.shape); // [(N,) S*B, 3D] -> bH's shape
        return [tf.stack(dxps), dh0, dw, db]; // dxps: S x [(N,) B, 3D] -> [S, (N,) B, 3D]
      },
    };
  });
  return run(xps, h0, wH, bH);
}
