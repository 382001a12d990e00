// The course's SIMD loops for element-wise gates (src/backend/small-matmul.wat): the scaled
// sigmoid (sigmoid and tanh), a GRU step's gate math forward and backward, and the backward of
// an additive-attention step, on the wasm heap directly, against float64 formulas written out here.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../src/backend/backend';
import { smallMatMulLoops } from '../../src/backend/small-matmul';

type Loops = NonNullable<ReturnType<typeof smallMatMulLoops>>;

/** Seeded values in [-scale, scale), as float32. */
function values(n: number, seed: number, scale = 2): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = ((s / 2147483648) * 2 - 1) * scale;
  }
  return out;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('gate loops in SIMD (sigmoid, tanh, GRU gates)', () => {
  let backend: BackendWasm;
  let loops: Loops;
  const at = (t: tf.Tensor): number => backend.dataIdMap.get(t.dataId)!.memoryOffset;

  before(async () => {
    await initBackend({ prefer: 'wasm', log: false });
    backend = tf.backend() as BackendWasm;
    const found = smallMatMulLoops(backend);
    assert.ok(found !== null, 'expected the SIMD loops on the wasm backend of this machine');
    loops = found;
  });

  after(async () => {
    await initBackend({ log: false });
  });

  // [label, a, b, c, float64 function]
  const modes: [string, number, number, number, (x: number) => number][] = [
    ['sigmoid', 1, 1, 0, sigmoid],
    ['tanh', 2, 2, 1, Math.tanh],
  ];
  for (const [label, a, b, c, exact] of modes) {
    it(`computes ${label} within 2.4e-7 of float64, saturating far out, NaN staying NaN`, () => {
      const xs = [
        ...Array.from({ length: 2001 }, (_, i) => -25 + i * 0.025),
        ...[0, 1e-30, -1e-7, 1e-3, 40, -40, 87, -87, 88, -88, 100, -100, 1e30, -1e30],
        ...[Infinity, -Infinity, NaN],
      ]; // 2018 values: not a multiple of 4, so the last vector is done twice
      const x = tf.tensor1d(xs);
      const y = tf.zeros([xs.length]);
      try {
        loops.sigmoid_scaled(at(x), at(y), 4 * xs.length, a, b, c);
        const got = y.dataSync();
        const src = x.dataSync();
        for (let i = 0; i < xs.length; i++) {
          const want = exact(src[i]);
          if (Number.isNaN(want)) {
            assert.ok(Number.isNaN(got[i]), `${label}(NaN): got ${got[i]}`);
            continue;
          }
          const err = Math.abs(got[i] - want);
          assert.ok(err <= 2.4e-7, `${label}(${src[i]}): got ${got[i]}, error ${err}`);
        }
        // relative accuracy where the sigmoid is tiny (e^x itself, to a few units in the last place)
        if (label === 'sigmoid') {
          for (let i = 0; i < xs.length; i++) {
            if (src[i] < -5 && src[i] > -80) {
              const rel = Math.abs(got[i] / sigmoid(src[i]) - 1);
              assert.ok(rel < 1e-6, `sigmoid(${src[i]}): relative error ${rel}`);
            }
          }
        }
      } finally {
        tf.dispose([x, y]);
      }
    });
  }

  it('runs in place when the length is a multiple of 4 (each value once)', () => {
    const v = values(64, 3, 6);
    const x = tf.tensor1d(v);
    try {
      loops.sigmoid_scaled(at(x), at(x), 4 * 64, 1, 1, 0);
      const got = x.dataSync();
      v.forEach((xi, i) => assert.ok(Math.abs(got[i] - sigmoid(xi)) <= 2.4e-7, `element ${i}`));
    } finally {
      x.dispose();
    }
  });

  /** The gate math of one GRU step in float64 (PyTorch's equations, `src/core/gru.ts`). */
  function gatesReference(
    x: Float32Array,
    hp: Float32Array,
    h: Float32Array,
    bias: Float32Array,
    rows: number,
    d: number,
    perBias: number,
  ): { hNew: number[]; gates: number[] } {
    const hNew: number[] = [];
    const gates: number[] = new Array<number>(rows * 3 * d);
    for (let row = 0; row < rows; row++) {
      const g0 = row * 3 * d;
      const b0 = Math.floor(row / perBias) * 3 * d;
      for (let j = 0; j < d; j++) {
        const pre = (k: number): number =>
          x[g0 + k * d + j] + hp[g0 + k * d + j] + bias[b0 + k * d + j];
        const r = sigmoid(pre(0));
        const z = sigmoid(pre(1));
        const n = Math.tanh(x[g0 + 2 * d + j] + r * (hp[g0 + 2 * d + j] + bias[b0 + 2 * d + j]));
        gates[g0 + j] = r;
        gates[g0 + d + j] = z;
        gates[g0 + 2 * d + j] = n;
        hNew.push((1 - z) * n + z * h[row * d + j]);
      }
    }
    return { hNew, gates };
  }

  function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
    assert.equal(got.length, want.length, `${what}: length`);
    for (let i = 0; i < want.length; i++) {
      const err = Math.abs(got[i] - want[i]);
      assert.ok(
        err <= tol * (1 + Math.abs(want[i])),
        `${what}[${i}]: ${got[i]} against ${want[i]}`,
      );
    }
  }

  for (const withXc of [false, true]) {
    it(`computes a GRU step's gates like float64 ${withXc ? 'from two parts of the input' : 'from one input'}, two bias rows`, () => {
      const [rows, d, perBias] = [6, 8, 3];
      const g3 = 3 * d;
      const xpv = values(2 * rows * g3, 1); // two steps; the loop reads the second
      const xcv = values(rows * g3, 2);
      const hpv = values(rows * g3, 3);
      const hv = values(rows * d, 4, 1);
      const bv = values((rows / perBias) * g3, 5, 0.5);
      const [xp, xc, hp, h, b] = [xpv, xcv, hpv, hv, bv].map((v) => tf.tensor1d(v));
      const out = tf.zeros([rows * d]);
      const gates = tf.zeros([rows * g3]);
      try {
        const offset = rows * g3 * 4;
        loops.gru_gates(
          at(xp) + offset,
          at(xc),
          at(hp),
          at(h),
          at(b),
          at(out),
          at(gates),
          rows,
          d,
          perBias,
          withXc ? 1 : 0,
        );
        const x = xpv.slice(rows * g3).map((v, i) => v + (withXc ? xcv[i] : 0));
        const want = gatesReference(x, hpv, hv, bv, rows, d, perBias);
        expectClose(out.dataSync(), want.hNew, 1e-6, "h'");
        expectClose(gates.dataSync(), want.gates, 1e-6, 'gates');
      } finally {
        tf.dispose([xp, xc, hp, h, b, out, gates]);
      }
    });
  }

  // [label, has]: which of dhm, dhq, dhz are added to dy
  const carries: [string, number][] = [
    ['the last step (no carry)', 0],
    ['a carry through W_h and directly', 1 | 4],
    ['all three carries', 1 | 2 | 4],
  ];
  for (const [label, has] of carries) {
    it(`computes the backward of a GRU step's gates like float64: ${label}`, () => {
      const [rows, d, perBias] = [4, 12, 2];
      const g3 = 3 * d;
      // the forward first, for gates that the backward reads
      const xv = values(rows * g3, 6);
      const hpv = values(rows * g3, 7);
      const hv = values(rows * d, 8, 1);
      const bv = values((rows / perBias) * g3, 9, 0.5);
      const { gates: gv } = gatesReference(xv, hpv, hv, bv, rows, d, perBias);
      const dyv = values(3 * rows * d, 10); // three steps; the loop reads the last
      const carry = [11, 12, 13].map((seed) => values(rows * d, seed));
      const inputs = [dyv, ...carry, hv, hpv, Float32Array.from(gv), bv].map((v) => tf.tensor1d(v));
      const [dy, dhm, dhq, dhz, h, hp, gates, b] = inputs;
      const outs = [tf.zeros([rows * g3]), tf.zeros([rows * g3]), tf.zeros([rows * d])];
      try {
        loops.gru_gates_grad(
          at(dy) + 2 * rows * d * 4,
          at(dhm),
          at(dhq),
          at(dhz),
          has,
          at(h),
          at(hp),
          at(gates),
          at(b),
          ...(outs.map(at) as [number, number, number]),
          rows,
          d,
          perBias,
        );
        const gf = Float32Array.from(gv); // the gates as the loop read them
        const dxp: number[] = new Array<number>(rows * g3);
        const dhp: number[] = new Array<number>(rows * g3);
        const dhzOut: number[] = [];
        for (let row = 0; row < rows; row++) {
          const g0 = row * g3;
          const b0 = Math.floor(row / perBias) * g3;
          for (let j = 0; j < d; j++) {
            const k = row * d + j;
            let g = dyv[2 * rows * d + k];
            carry.forEach((c, i) => {
              if (has & (1 << i)) g += c[k];
            });
            const [r, z, n] = [gf[g0 + j], gf[g0 + d + j], gf[g0 + 2 * d + j]];
            const daN = g * (1 - z) * (1 - n * n);
            const daR = daN * (hpv[g0 + 2 * d + j] + bv[b0 + 2 * d + j]) * r * (1 - r);
            const daZ = g * (hv[k] - n) * z * (1 - z);
            [dxp[g0 + j], dxp[g0 + d + j], dxp[g0 + 2 * d + j]] = [daR, daZ, daN];
            [dhp[g0 + j], dhp[g0 + d + j], dhp[g0 + 2 * d + j]] = [daR, daZ, daN * r];
            dhzOut.push(g * z);
          }
        }
        expectClose(outs[0].dataSync(), dxp, 1e-6, 'dxp');
        expectClose(outs[1].dataSync(), dhp, 1e-6, 'dhp');
        expectClose(outs[2].dataSync(), dhzOut, 1e-6, 'dh_z');
      } finally {
        tf.dispose([...inputs, ...outs]);
      }
    });
  }

  it('computes the backward of an additive-attention step like float64', () => {
    const [B, S, M, A] = [3, 5, 8, 12];
    const dcv = values(B * M, 21);
    const dAv = values(B * S, 22);
    // weights: a softmax of random scores, so that each row sums to 1
    const e = values(B * S, 23);
    const av = new Float32Array(B * S);
    for (let b = 0; b < B; b++) {
      let sum = 0;
      for (let j = 0; j < S; j++) sum += Math.exp(e[b * S + j]);
      for (let j = 0; j < S; j++) av[b * S + j] = Math.exp(e[b * S + j]) / sum;
    }
    const fv = values(B * S * A, 24, 0.99); // tanh values
    const vv = values(A, 25);
    const hv = values(B * S * M, 26);
    const inputs = [dcv, dAv, av, fv, vv, hv].map((v) => tf.tensor1d(v));
    const outs = [B * S, B * S * A, B * A, A].map((n) => tf.zeros([n]));
    try {
      loops.additive_attention_grad(
        ...(inputs.map(at) as [number, number, number, number, number, number]),
        ...(outs.map(at) as [number, number, number, number]),
        B,
        S,
        M,
        A,
      );
      const ds: number[] = [];
      const dpre: number[] = [];
      const dq = new Array<number>(B * A).fill(0);
      const dv = new Array<number>(A).fill(0);
      for (let b = 0; b < B; b++) {
        const da: number[] = [];
        for (let j = 0; j < S; j++) {
          let dot = 0;
          for (let m = 0; m < M; m++) dot += dcv[b * M + m] * hv[(b * S + j) * M + m];
          da.push(dot + dAv[b * S + j]);
        }
        const mean = da.reduce((acc, x, j) => acc + av[b * S + j] * x, 0);
        for (let j = 0; j < S; j++) {
          const d = av[b * S + j] * (da[j] - mean);
          ds.push(d);
          for (let k = 0; k < A; k++) {
            const f = fv[(b * S + j) * A + k];
            const p = d * vv[k] * (1 - f * f);
            dpre.push(p);
            dq[b * A + k] += p;
            dv[k] += d * f;
          }
        }
      }
      expectClose(outs[0].dataSync(), ds, 1e-5, 'ds');
      expectClose(outs[1].dataSync(), dpre, 1e-5, 'dpre');
      expectClose(outs[2].dataSync(), dq, 1e-5, 'dq');
      expectClose(outs[3].dataSync(), dv, 1e-5, 'dv');
    } finally {
      tf.dispose([...inputs, ...outs]);
    }
  });

  it('computes the scores and the context of an additive-attention step like float64', () => {
    const [B, S, M, A] = [3, 5, 8, 12];
    const [qv, kv, vv, pbv, av, hv] = [
      values(B * A, 31),
      values(B * S * A, 32),
      values(A, 33),
      values(B * S, 34),
      values(B * S, 35, 1),
      values(B * S * M, 36),
    ];
    const inputs = [qv, kv, vv, pbv, av, hv].map((v) => tf.tensor1d(v));
    const [q, k, v, pb, a, h] = inputs;
    const outs = [B * S * A, B * S, B * M].map((n) => tf.zeros([n]));
    const [f, e, c] = outs;
    try {
      loops.additive_scores(at(q), at(k), at(v), at(pb), at(f), at(e), B, S, A);
      loops.weighted_rows(at(a), at(h), at(c), B, S, M);
      const fWant: number[] = [];
      const eWant: number[] = [];
      const cWant = new Array<number>(B * M).fill(0);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < S; j++) {
          let dot = pbv[b * S + j];
          for (let i = 0; i < A; i++) {
            const fi = Math.tanh(qv[b * A + i] + kv[(b * S + j) * A + i]);
            fWant.push(fi);
            dot += fi * vv[i];
          }
          eWant.push(dot);
          for (let m = 0; m < M; m++) cWant[b * M + m] += av[b * S + j] * hv[(b * S + j) * M + m];
        }
      }
      expectClose(f.dataSync(), fWant, 1e-6, 'f');
      expectClose(e.dataSync(), eWant, 1e-5, 'e');
      expectClose(c.dataSync(), cWant, 1e-5, 'c');
    } finally {
      tf.dispose([...inputs, ...outs]);
    }
  });
});
