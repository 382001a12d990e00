/**
 * The teacher-forced decoder of `BahdanauSeq2Seq` as one differentiable op with a hand-written
 * backward through time (`tf.customGrad`): the same equations as its step-by-step loop
 * (`bahdanau.ts`), in far fewer kernels.
 *
 * Why: the seq2seq training step is dominated by the number of kernels, not by its arithmetic
 * (`npm run bench -- profile seq2seq`). Step by step, autograd records every op of every decoder
 * step and, going back, adds the gradients of the shared tensors (`W_a`, `W_xc`, `W_h`, `b_h`,
 * `U_a h_j`, `h_j`, `v_a`) one step at a time. Here the forward runs without a tape, and the
 * backward runs, per step, the gate kernel, the attention's gradient and three products; the
 * gradients of the shared tensors are one product (or one sum) over all steps. On the wasm
 * backend, where the attention's widths `M` and `A` are multiples of 4, the attention's scores,
 * context and backward are one kernel each, loops of `small-matmul.wat` (~10 kernels per step
 * fewer, and no products with a single row or column, which run at 2-4 GFLOP/s); elsewhere they
 * are plain ops with the same values.
 *
 * Forward, step `i` (`s_0` given, `y'_i = E_y y_{i-1} W_xy + b_x` projected beforehand):
 *
 * ```text
 * q_i = s_{i-1} W_a                  f_ij = tanh(q_i + k_j)          k_j = U_a h_j
 * e_ij = f_ij v_a                    a_i = softmax(e_i + padBias)    c_i = sum_j a_ij h_j
 * s_i = GRU(y'_i + c_i W_xc, s_{i-1})                                 (gates: `gru-fused.ts`)
 * ```
 *
 * Backward, step `i` from the last, with `g_s`, `g_c`, `g_a` the gradients of `s_i`, `c_i`, `a_i`
 * from outside and from step `i + 1`:
 *
 * ```text
 * dxp, dhp, dh_z = GRUGatesGrad(g_s)           dc = g_c + dxp W_xc^T
 * da = dc h^T + g_a                            ds = a (da - sum_j a_j da_j)        (softmax)
 * dpre = ds v_a (1 - f^2)                      dq = sum_j dpre_j
 * g_s(i-1) += dh_z + dhp W_h^T + dq W_a^T
 * ```
 *
 * and after the loop `dW_h = sum_i s_{i-1}^T dhp_i`, `dW_xc = sum_i c_i^T dxp_i`,
 * `dW_a = sum_i s_{i-1}^T dq_i` (one product each over all steps), `dk = sum_i dpre_i`,
 * `dh_j = sum_i a_ij dc_i` (one batched product), `dv_a = sum_i f_i^T ds_i`.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset, smallMatMulLoops } from '../backend/small-matmul';
import { gruGatesBackward, gruGatesForward } from '../core/gru-fused';

type TensorInfo = tf.TensorInfo;

/** The attention's kernels in the course's SIMD loops (`small-matmul.wat`), wasm only. */
const SCORES = 'AttentionHandsOnAdditiveScores';
const CONTEXT = 'AttentionHandsOnWeightedRows';
const ATTENTION_GRAD = 'AttentionHandsOnAdditiveAttentionGrad';

/**
 * Runs one of the loops on the wasm heap: allocates `outShapes` first (an allocation may grow
 * the heap), then calls `loop` with the byte offset of each input and output.
 */
function onHeap(
  args: Parameters<tf.KernelFunc>[0],
  inputs: string[],
  outShapes: number[][],
  loop: (loops: NonNullable<ReturnType<typeof smallMatMulLoops>>, at: number[]) => void,
): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const loops = smallMatMulLoops(backend);
  if (loops === null) throw new Error('attention kernels: expected the SIMD loops to run here');
  const outs = outShapes.map((shape) => backend.makeOutput(shape, 'float32'));
  const named = args.inputs as Record<string, TensorInfo>;
  const infos = [...inputs.map((name) => named[name]), ...outs];
  loop(
    loops,
    infos.map((x) => heapOffset(backend, x)),
  );
  return outs;
}

/** `f = tanh(q + k_j)` `[B, S, A]` and `e = f v + padBias` `[B, S]` from `q, keys, v, padBias`. */
function scoresKernel(args: Parameters<tf.KernelFunc>[0]): TensorInfo[] {
  const [batch, srcLen, hidden] = (args.inputs as Record<string, TensorInfo>).keys.shape;
  return onHeap(
    args,
    ['q', 'keys', 'v', 'padBias'],
    [
      [batch, srcLen, hidden],
      [batch, srcLen],
    ],
    (loops, p) => loops.additive_scores(p[0], p[1], p[2], p[3], p[4], p[5], batch, srcLen, hidden),
  );
}

/** The context `c = sum_j a_j h_j` `[B, M]` from `a [B, S]` and `memory [B, S, M]`. */
function contextKernel(args: Parameters<tf.KernelFunc>[0]): TensorInfo {
  const [batch, srcLen, width] = (args.inputs as Record<string, TensorInfo>).memory.shape;
  const [c] = onHeap(args, ['a', 'memory'], [[batch, width]], (loops, p) =>
    loops.weighted_rows(p[0], p[1], p[2], batch, srcLen, width),
  );
  return c; // one output: a TensorInfo, not an array (runKernel would return an array)
}

/**
 * The attention's backward of one step: `ds [B, S]`, `dpre [B, S, A]`, `dq [B, A]`, `dv [A]` from
 * `dc [B, M]`, `dA [B, S]`, `a [B, S]`, `f [B, S, A]`, `v [A]`, `memory [B, S, M]` (see the
 * module comment).
 */
function attentionGradKernel(args: Parameters<tf.KernelFunc>[0]): TensorInfo[] {
  const [batch, srcLen, hidden] = (args.inputs as Record<string, TensorInfo>).f.shape;
  const width = (args.inputs as Record<string, TensorInfo>).memory.shape[2];
  const outShapes = [[batch, srcLen], [batch, srcLen, hidden], [batch, hidden], [hidden]];
  return onHeap(args, ['dc', 'dA', 'a', 'f', 'v', 'memory'], outShapes, (loops, p) =>
    loops.additive_attention_grad(
      ...(p as [number, number, number, number, number, number, number, number, number, number]),
      batch,
      srcLen,
      width,
      hidden,
    ),
  );
}

/**
 * Whether the attention runs in the SIMD loops: on the wasm backend where the loops run, for
 * widths `M` and `A` that are multiples of 4 (registering the kernels on first use). Elsewhere
 * the plain ops run, with the same values within float32 rounding.
 */
function attentionInSimd(width: number, hidden: number): boolean {
  if (width % 4 !== 0 || hidden % 4 !== 0 || tf.getBackend() !== 'wasm') return false;
  if (smallMatMulLoops(tf.backend() as BackendWasm) === null) return false;
  const kernels: [string, tf.KernelFunc][] = [
    [SCORES, scoresKernel],
    [CONTEXT, contextKernel],
    [ATTENTION_GRAD, attentionGradKernel],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, 'wasm') === undefined) {
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
    }
  }
  return true;
}

/** What `bahdanauDecoderFused` reads. Shapes use `B, S, T` and `D` (decoder), `A`, `M = 2 Denc`. */
export interface BahdanauDecoderInputs {
  /** `[T, B, 3D]` the projected embedding of every step's input, `E_y y W_xy + b_x`. */
  yps: tf.Tensor3D;
  /** `[B, D]` the initial decoder state. */
  s0: tf.Tensor2D;
  /** `[B, S, A]` `U_a h_j`. */
  keys: tf.Tensor3D;
  /** `[B, S, M]` the annotations `h_j`. */
  memory: tf.Tensor3D;
  /** `[B, S]` 0 at real source positions, `-1e9` at padding. */
  padBias: tf.Tensor2D;
  /** `[D, A]` `W_a`. */
  wA: tf.Tensor2D;
  /** `[A]` `v_a`. */
  v: tf.Tensor1D;
  /** `[M, 3D]` the context's rows of the GRU's input weights. */
  wXc: tf.Tensor2D;
  /** `[D, 3D]` and `[3D]`: the GRU's recurrent weights and bias. */
  wH: tf.Tensor2D;
  bH: tf.Tensor1D;
}

/**
 * Runs the whole teacher-forced decoder (see the module comment). Call only when
 * `fusedGruActive()`, with at least one step; no input checks (`BahdanauSeq2Seq.forward` checks
 * its inputs).
 * @returns `[T, B, D + M + S]`: at every step the state `s_i`, the context `c_i` and the
 *   weights `a_i`, side by side
 */
export function bahdanauDecoderFused(x: BahdanauDecoderInputs): tf.Tensor3D {
  const [steps, batch] = x.yps.shape;
  const [, srcLen, hidden] = x.keys.shape;
  const width = x.memory.shape[2];
  const d = x.s0.shape[1];
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [yps, s0, keys, mem, pb, wA, v, wXc, wH, bH] = args as tf.Tensor[];
    const save = args[10] as tf.GradSaveFunc;
    const vCol = v.reshape([hidden, 1]);
    const simd = attentionInSimd(width, hidden);
    const ss: tf.Tensor[] = [s0]; // s_0 .. s_T
    const fs: tf.Tensor[] = [];
    const as: tf.Tensor[] = [];
    const cs: tf.Tensor[] = [];
    const hps: tf.Tensor[] = [];
    const gates: tf.Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const s = ss[t];
      const q = tf.matMul(s, wA); // [B, D] x [D, A] -> [B, A]
      const [f, e] = simd
        ? (tf.engine().runKernel(SCORES, { q, keys, v, padBias: pb }) as tf.Tensor[])
        : scores(q, keys, vCol, pb);
      const a = tf.softmax(e); // [B, S]
      const c = simd
        ? (tf.engine().runKernel(CONTEXT, { a, memory: mem }) as tf.Tensor)
        : tf.matMul(a.reshape([batch, 1, srcLen]), mem).reshape([batch, width]); // [B, 1, S] x [B, S, M] -> [B, M]
      const xc = tf.matMul(c, wXc); // [B, M] x [M, 3D] -> [B, 3D]
      const hp = tf.matMul(s, wH); // [B, D] x [D, 3D] -> [B, 3D]
      const [sNew, g] = gruGatesForward(yps, t, xc, hp, s, bH);
      fs.push(f);
      as.push(a);
      cs.push(c);
      hps.push(hp);
      gates.push(g);
      ss.push(sNew);
    }
    save([mem, v, wA, wXc, wH, bH, ...ss, ...fs, ...as, ...cs, ...hps, ...gates]);
    const value = tf.concat([tf.stack(ss.slice(1)), tf.stack(cs), tf.stack(as)], 2); // T x [B, D], [B, M], [B, S] -> [T, B, D + M + S]
    return { value: value as tf.Tensor3D, gradFunc: backward };
  });

  function backward(dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] {
    const [mem, v, wA, wXc, wH, bH] = saved;
    const at = (k: number, t: number): tf.Tensor => saved[6 + k * steps + (k > 0 ? 1 : 0) + t];
    const s = (t: number): tf.Tensor => saved[6 + t]; // s_0 .. s_T
    const [f, a, c, hp, gate] = [1, 2, 3, 4, 5].map((k) => (t: number) => at(k, t));
    const [dS, dC, dA] = tf.split(dy, [d, width, srcLen], 2); // [T, B, D + M + S] -> [T, B, D], [T, B, M], [T, B, S]
    const dCs = tf.unstack(dC); // T x [B, M]
    const dAs = tf.unstack(dA); // T x [B, S]
    // the transposed weights once for all steps (a transpose flag would transpose at every step)
    const wXcT = tf.transpose(wXc); // [M, 3D] -> [3D, M]
    const wHT = tf.transpose(wH); // [D, 3D] -> [3D, D]
    const wAT = tf.transpose(wA); // [D, A] -> [A, D]
    const vRow = v.reshape([1, 1, hidden]);
    const simd = attentionInSimd(width, hidden);
    const dxps = new Array<tf.Tensor>(steps);
    const dhps = new Array<tf.Tensor>(steps);
    const dqs = new Array<tf.Tensor>(steps);
    const dcs = new Array<tf.Tensor>(steps);
    const dss = new Array<tf.Tensor>(steps);
    const dPres = new Array<tf.Tensor>(steps);
    const dvs = new Array<tf.Tensor>(steps);
    let carry: { dhm?: tf.Tensor; dhq?: tf.Tensor; dhz?: tf.Tensor } = {}; // none at the last step
    for (let t = steps - 1; t >= 0; t--) {
      const [dxp, dhp, dhz] = gruGatesBackward(dS, t, carry, s(t), hp(t), gate(t), bH);
      // context: from the output and from the GRU's input
      const dc = tf.add(dCs[t], tf.matMul(dxp, wXcT)); // [B, 3D] x [3D, M] -> [B, M]
      // the attention: weights, softmax, scores, tanh (one kernel on wasm)
      const [ds, dPre, dq, dv] = simd
        ? (tf.engine().runKernel(ATTENTION_GRAD, {
            dc,
            dA: dAs[t],
            a: a(t),
            f: f(t),
            v,
            memory: mem,
          }) as tf.Tensor[])
        : attentionGrad(dc, dAs[t], a(t), f(t), vRow, mem);
      dvs[t] = dv;
      carry = { dhm: tf.matMul(dhp, wHT), dhq: tf.matMul(dq, wAT), dhz }; // [B, 3D] x [3D, D], [B, A] x [A, D] -> [B, D]
      dxps[t] = dxp;
      dhps[t] = dhp;
      dqs[t] = dq;
      dcs[t] = dc;
      dss[t] = ds;
      dPres[t] = dPre;
    }
    const dS0 = tf.addN([carry.dhm!, carry.dhq!, carry.dhz!]); // [B, D] (steps >= 1)
    // the shared tensors: one product (or sum) over all steps
    const rows = steps * batch;
    const sPrev = tf.stack(Array.from({ length: steps }, (_, t) => s(t))).reshape([rows, d]); // T x [B, D] -> [T*B, D]
    const dHp = tf.stack(dhps).reshape([rows, 3 * d]); // T x [B, 3D] -> [T*B, 3D]
    const dXp = tf.stack(dxps); // T x [B, 3D] -> [T, B, 3D]
    const dwH = tf.matMul(sPrev, dHp, true, false); // [T*B, D]^T x [T*B, 3D] -> [D, 3D]
    const dbH = tf.sum(dHp, 0); // [T*B, 3D] -> [3D]
    const dwA = tf.matMul(sPrev, tf.stack(dqs).reshape([rows, hidden]), true, false); // [T*B, D]^T x [T*B, A] -> [D, A]
    const cAll = tf.stack(Array.from({ length: steps }, (_, t) => c(t))).reshape([rows, width]); // -> [T*B, M]
    const dwXc = tf.matMul(cAll, dXp.reshape([rows, 3 * d]), true, false); // [T*B, M]^T x [T*B, 3D] -> [M, 3D]
    const aAll = tf.stack(
      Array.from({ length: steps }, (_, t) => a(t)),
      1,
    ); // T x [B, S] -> [B, T, S]
    const dMem = tf.matMul(aAll, tf.stack(dcs, 1), true, false); // [B, T, S]^T x [B, T, M] -> [B, S, M]
    const dKeys = tf.addN(dPres); // T x [B, S, A] -> [B, S, A]
    const dv = tf.addN(dvs); // T x [A] -> [A]
    const dPb = tf.addN(dss); // T x [B, S] -> [B, S]
    return [dXp, dS0, dKeys, dMem, dPb, dwA, dv, dwXc, dwH, dbH];
  }

  /** The scores of one step in plain ops (what the SIMD loop computes): `f` and `e + padBias`. */
  function scores(q: tf.Tensor, keys: tf.Tensor, vCol: tf.Tensor, pb: tf.Tensor): tf.Tensor[] {
    const f = tf.tanh(tf.add(q.reshape([batch, 1, hidden]), keys)); // [B, 1, A] + [B, S, A] -> [B, S, A]
    const e = tf.matMul(f.reshape([batch * srcLen, hidden]), vCol).reshape([batch, srcLen]); // [B*S, A] x [A, 1] -> [B, S]
    return [f, tf.add(e, pb)];
  }

  /** The attention's backward of one step in plain ops (what the SIMD loop computes). */
  function attentionGrad(
    dc: tf.Tensor,
    dA: tf.Tensor,
    a: tf.Tensor,
    f: tf.Tensor,
    vRow: tf.Tensor,
    mem: tf.Tensor,
  ): tf.Tensor[] {
    // weights: from the context and from outside, then through the softmax
    const dcMem = tf.matMul(dc.reshape([batch, 1, width]), mem, false, true); // [B, 1, M] x [B, S, M]^T -> [B, 1, S]
    const da = tf.add(dcMem.reshape([batch, srcLen]), dA); // [B, S]
    const ds = tf.mul(a, tf.sub(da, tf.sum(tf.mul(a, da), 1, true))); // [B, S]
    // scores e = f v_a, f = tanh(q + k): tanh' = 1 - f^2
    const dPre = tf.mul(tf.mul(ds.reshape([batch, srcLen, 1]), vRow), tf.sub(1, tf.square(f))); // [B, S, 1] * [1, 1, A] * [B, S, A]
    const dq = tf.sum(dPre, 1); // [B, S, A] -> [B, A]
    const dv = tf.matMul(ds.reshape([1, batch * srcLen]), f.reshape([batch * srcLen, hidden])); // [1, B*S] x [B*S, A] -> [1, A]
    return [ds, dPre, dq, dv.reshape([hidden])];
  }

  return run(x.yps, x.s0, x.keys, x.memory, x.padBias, x.wA, x.v, x.wXc, x.wH, x.bH) as tf.Tensor3D;
}
