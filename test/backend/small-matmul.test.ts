// The course's SIMD loops for small batched products and the tiled loop for larger ones
// (src/backend/small-matmul.wat) against a plain triple loop in float64, on the wasm heap
// directly, every layout they accept; and the committed bytes against their source.
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../src/backend/backend';
import {
  smallBatchMatMul,
  smallMatMulLoops,
  loopHelper,
  useLoopHelper,
  tiledMatMul,
  useSmallMatMulLoops,
  useFusedMultiplyAdd,
  fusedMultiplyAddActive,
} from '../../src/backend/small-matmul';
import {
  SMALL_MATMUL_WASM_BASE64,
  SMALL_MATMUL_FMA_WASM_BASE64,
  SMALL_MATMUL_SHARED_WASM_BASE64,
  SMALL_MATMUL_SHARED_FMA_WASM_BASE64,
  SMALL_MATMUL_WAT_SHA256,
} from '../../src/backend/small-matmul-wasm';
import { planWasmThreads } from '../../src/backend/wasm-threads';
import { installWasmFixes } from '../../src/backend/wasm-fixes';

/** Seeded values in [-1, 1) with a few exact zeros and large entries, as float32. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = i % 11 === 0 ? 0 : (s / 2147483648) * 2 - 1;
  }
  return out;
}

/** op(A) op(B) per slice in float64; a batch of 1 is shared. */
function reference(
  a: Float32Array,
  b: Float32Array,
  [nA, nB, nOut, M, K, N]: number[],
  ta: boolean,
  tb: boolean,
): Float64Array {
  const out = new Float64Array(nOut * M * N);
  for (let i = 0; i < nOut; i++) {
    const oa = (nA === 1 ? 0 : i) * M * K;
    const ob = (nB === 1 ? 0 : i) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const x = a[oa + (ta ? k * M + m : m * K + k)];
          const y = b[ob + (tb ? n * K + k : k * N + n)];
          s += x * y;
        }
        out[(i * M + m) * N + n] = s;
      }
    }
  }
  return out;
}

describe('small batched products in SIMD loops', () => {
  let backend: BackendWasm;

  before(async () => {
    await initBackend({ prefer: 'wasm', log: false });
    backend = tf.backend() as BackendWasm;
  });

  after(async () => {
    installWasmFixes();
    await initBackend({ log: false });
  });

  // Tests that switch the fused build off leave it on for the next, even when they fail.
  afterEach(() => useFusedMultiplyAdd(true));

  it('runs on the wasm backend of this machine (its heap shared or not, SIMD)', () => {
    assert.equal(tf.getBackend(), 'wasm');
    assert.notEqual(smallMatMulLoops(backend), null);
  });

  // [label, nA, nB, nOut, M, K, N]: multiples of 4 and tails in K and N, K = 1, broadcasting.
  const cases: [string, number, number, number, number, number, number][] = [
    ['attention-sized slices', 6, 6, 6, 5, 8, 5],
    ['tails in K and N', 3, 3, 3, 4, 7, 6],
    ['N and K below 4', 2, 2, 2, 3, 2, 3],
    ['K = 1', 2, 2, 2, 3, 1, 9],
    ['one slice', 1, 1, 1, 9, 12, 13],
    ['a shared by every slice', 1, 4, 4, 5, 6, 7],
    ['b shared by every slice', 4, 1, 4, 5, 6, 7],
  ];
  for (const [label, nA, nB, nOut, M, K, N] of cases) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      it(`matches a float64 triple loop: ${label}, transposeA=${ta}, transposeB=${tb}`, () => {
        const av = values(nA * M * K, 7 + M);
        const bv = values(nB * K * N, 11 + N);
        const a = tf.tensor(av, ta ? [nA, K, M] : [nA, M, K]);
        const b = tf.tensor(bv, tb ? [nB, N, K] : [nB, K, N]);
        const before = tf.memory().numTensors;
        const dims = { nA, nB, nOut, M, K, N, outShape: [nOut, M, N] };
        const info = smallBatchMatMul(backend, a, b, ta, tb, dims);
        assert.ok(info !== null);
        const got = tf.engine().makeTensorFromTensorInfo(info);
        assert.deepEqual(got.shape, [nOut, M, N]);
        const expected = reference(av, bv, [nA, nB, nOut, M, K, N], ta, tb);
        const actual = got.dataSync();
        for (let i = 0; i < expected.length; i++) {
          assert.ok(
            Math.abs(actual[i] - expected[i]) <= 1e-5 * (1 + Math.abs(expected[i])),
            `element ${i}: ${actual[i]} against ${expected[i]}`,
          );
        }
        got.dispose();
        assert.equal(tf.memory().numTensors, before);
        tf.dispose([a, b]);
      });
    }
  }

  // [label, nA, nB, nOut, M, K, N]: whole 4 x 8 tiles, row and column tails, several blocks of
  // 256 terms with a partial last one, an edge-only product, a single column, broadcasting.
  const tiledCases: [string, number, number, number, number, number, number][] = [
    ['whole tiles, one block of k', 1, 1, 1, 8, 16, 16],
    ['row and column tails', 1, 1, 1, 11, 37, 21],
    ['k over three blocks, the last partial', 1, 1, 1, 9, 600, 19],
    ['fewer rows than a tile and columns than a tile', 1, 1, 1, 3, 300, 7],
    ['one column (N = 1)', 1, 1, 1, 13, 513, 1],
    ['a batch of slices', 3, 3, 3, 6, 260, 10],
    ['b shared by every slice', 2, 1, 2, 5, 40, 9],
    ['a shared by every slice', 1, 2, 2, 5, 40, 9],
  ];
  for (const [label, nA, nB, nOut, M, K, N] of tiledCases) {
    for (const [ta, fused] of [
      [false, true],
      [true, true],
      [false, false],
      [true, false],
    ]) {
      const build = fused ? 'fused multiply-adds' : 'separate multiplies and adds';
      it(`tiles products like a float64 triple loop: ${label}, transposeA=${ta}, ${build}`, () => {
        useFusedMultiplyAdd(fused);
        const av = values(nA * M * K, 13 + K);
        const bv = values(nB * K * N, 17 + N);
        const a = tf.tensor(av, ta ? [nA, K, M] : [nA, M, K]);
        const b = tf.tensor(bv, [nB, K, N]);
        const before = tf.memory().numTensors;
        const dims = { nA, nB, nOut, M, K, N, outShape: [nOut, M, N] };
        const info = tiledMatMul(backend, a, b, ta, false, dims);
        assert.ok(info !== null);
        const got = tf.engine().makeTensorFromTensorInfo(info);
        assert.deepEqual(got.shape, [nOut, M, N]);
        const expected = reference(av, bv, [nA, nB, nOut, M, K, N], ta, false);
        const actual = got.dataSync();
        // Sums of up to 600 terms in float32 against float64.
        for (let i = 0; i < expected.length; i++) {
          assert.ok(
            Math.abs(actual[i] - expected[i]) <= 1e-5 * Math.sqrt(K) * (1 + Math.abs(expected[i])),
            `element ${i}: ${actual[i]} against ${expected[i]}`,
          );
        }
        got.dispose();
        assert.equal(tf.memory().numTensors, before);
        tf.dispose([a, b]);
      });
    }
  }

  it('fuses the multiply-adds of the tile where Relaxed SIMD runs (one rounding, not two)', () => {
    // C = a0 b0 + a1 b1 with a0 b0 = -(1 + 2^-11) and a1 b1 = (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24.
    // Separately rounded, a1 b1 loses its 2^-24 (a tie, to even) and C = 0; fused, C = 2^-24.
    // (x86 with FMA and ARM fuse relaxed_madd; a CPU without FMA would give 0 in both.)
    assert.ok(fusedMultiplyAddActive(), 'Relaxed SIMD is not available to this process');
    const x = 1 + 2 ** -12;
    const a = tf.tensor([-(1 + 2 ** -11), x], [1, 1, 2]);
    const b = tf.tensor([1, x], [1, 2, 1]);
    const dims = { nA: 1, nB: 1, nOut: 1, M: 1, K: 2, N: 1, outShape: [1, 1, 1] };
    const product = (fused: boolean): number => {
      useFusedMultiplyAdd(fused);
      // One row and one column: the edge loop, not the tile. Pad to a whole 4 x 8 tile.
      const a4 = tf.pad(a, [
        [0, 0],
        [0, 3],
        [0, 0],
      ]);
      const b8 = tf.pad(b, [
        [0, 0],
        [0, 0],
        [0, 7],
      ]);
      const info = tiledMatMul(backend, a4, b8, false, false, {
        ...dims,
        M: 4,
        N: 8,
        outShape: [1, 4, 8],
      });
      assert.ok(info !== null);
      const c = tf.engine().makeTensorFromTensorInfo(info);
      const value = c.dataSync()[0];
      tf.dispose([a4, b8, c]);
      return value;
    };
    assert.equal(product(false), 0);
    assert.equal(product(true), 2 ** -24);
    assert.throws(
      () => useFusedMultiplyAdd(1 as unknown as boolean),
      /expected true or false, got 1/,
    );
    tf.dispose([a, b]);
  });

  it('tiles: declines a transposed B and a switched-off loop, and names bad batch sizes', () => {
    const a = tf.ones([1, 3, 4]);
    const b = tf.ones([1, 5, 4]);
    const dims = { nA: 1, nB: 1, nOut: 1, M: 3, K: 4, N: 5, outShape: [1, 3, 5] };
    assert.equal(tiledMatMul(backend, a, b, false, true, dims), null);
    try {
      useSmallMatMulLoops(false);
      assert.equal(tiledMatMul(backend, a, b, false, false, dims), null);
    } finally {
      useSmallMatMulLoops(true);
    }
    assert.throws(
      () => tiledMatMul(backend, a, b, false, false, { ...dims, nA: 2, nB: 3, nOut: 3 }),
      /tiledMatMul: expected batch sizes of 1 or 3, got a 2 and b 3/,
    );
    tf.dispose([a, b]);
  });

  it('declines both operands transposed (the stock kernel keeps them)', () => {
    const a = tf.ones([2, 3, 4]);
    const b = tf.ones([2, 5, 3]);
    const dims = { nA: 2, nB: 2, nOut: 2, M: 4, K: 3, N: 5, outShape: [2, 4, 5] };
    assert.equal(smallBatchMatMul(backend, a, b, true, true, dims), null);
    tf.dispose([a, b]);
  });

  it('names the batch sizes it expected and got', () => {
    const a = tf.ones([2, 3, 4]);
    const b = tf.ones([3, 4, 5]);
    const dims = { nA: 2, nB: 3, nOut: 3, M: 3, K: 4, N: 5, outShape: [3, 3, 5] };
    assert.throws(
      () => smallBatchMatMul(backend, a, b, false, false, dims),
      /expected batch sizes of 1 or 3, got a 2 and b 3/,
    );
    tf.dispose([a, b]);
  });

  it('gives tf.matMul and its gradients the values of the stock kernel, switched on or off', () => {
    // Attention-shaped: [B, H, T, Dh] x [B, H, Dh, T], forward and both gradients.
    const q = tf.tensor(values(2 * 3 * 5 * 8, 3), [2, 3, 5, 8]);
    const k = tf.tensor(values(2 * 3 * 5 * 8, 5), [2, 3, 5, 8]);
    const run = (): Float32Array[] =>
      tf.tidy(() => {
        const f = (x: tf.Tensor, y: tf.Tensor): tf.Scalar =>
          tf.sum(tf.mul(tf.matMul(x, y, false, true), tf.range(0, 25).reshape([5, 5])));
        const [dq, dk] = tf.grads(f)([q, k]);
        return [tf.matMul(q, k, false, true), dq, dk].map((t) => t.dataSync() as Float32Array);
      });
    const before = tf.memory().numTensors;
    const on = run();
    try {
      useSmallMatMulLoops(false);
      assert.equal(
        smallBatchMatMul(backend, q, k, false, true, {
          nA: 6,
          nB: 6,
          nOut: 6,
          M: 5,
          K: 8,
          N: 5,
          outShape: [6, 5, 5],
        }),
        null,
      );
      const off = run();
      for (let t = 0; t < 3; t++) {
        for (let i = 0; i < on[t].length; i++) {
          assert.ok(
            Math.abs(on[t][i] - off[t][i]) <= 1e-4 * (1 + Math.abs(off[t][i])),
            `${t}/${i}`,
          );
        }
      }
    } finally {
      useSmallMatMulLoops(true);
    }
    assert.equal(tf.memory().numTensors, before);
    assert.throws(
      () => useSmallMatMulLoops('yes' as unknown as boolean),
      /expected true or false, got yes/,
    );
    tf.dispose([q, k]);
  });

  it('carries the bytes of the committed source (rebuild with npm run build:wasm)', () => {
    const source = fs.readFileSync(
      path.join(__dirname, '..', '..', 'src', 'backend', 'small-matmul.wat'),
    );
    const sha = crypto.createHash('sha256').update(source).digest('hex');
    assert.equal(SMALL_MATMUL_WAT_SHA256, sha);
    assert.ok(WebAssembly.validate(Buffer.from(SMALL_MATMUL_WASM_BASE64, 'base64')));
    // The fused build differs from it only in the tile's 8 multiply-adds (a few bytes).
    const fused = Buffer.from(SMALL_MATMUL_FMA_WASM_BASE64, 'base64');
    assert.ok(WebAssembly.validate(fused));
    assert.ok(Math.abs(fused.length - Buffer.from(SMALL_MATMUL_WASM_BASE64, 'base64').length) < 64);
    // The shared-heap builds differ only in their memory import (and the fused tile).
    for (const [shared, unshared] of [
      [SMALL_MATMUL_SHARED_WASM_BASE64, SMALL_MATMUL_WASM_BASE64],
      [SMALL_MATMUL_SHARED_FMA_WASM_BASE64, SMALL_MATMUL_FMA_WASM_BASE64],
    ]) {
      const bytes = Buffer.from(shared, 'base64');
      assert.ok(WebAssembly.validate(bytes));
      const [memory] = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
      assert.deepEqual([memory.module, memory.name, memory.kind], ['env', 'memory', 'memory']);
      assert.ok(Math.abs(bytes.length - Buffer.from(unshared, 'base64').length) < 8);
    }
  });

  it('shares large products with the helper thread where the plan has one, bit for bit', function () {
    this.timeout(60_000);
    const helper = loopHelper(backend);
    if (!planWasmThreads().loopHelper) {
      // ATTENTION_WASM_THREADS=1, one core, or no worker threads: an unshared heap, no helper.
      assert.equal(helper, null);
      return;
    }
    assert.ok(helper !== null && helper.waitUntilReady(20_000), `no helper: ${helper?.whyNot}`);
    // [shape of a, shape of b, transposeA, transposeB]: the tiled loop (A, A^T, B^T copied),
    // a batch of attention slices (bmm_nn, bmm_nt), rows not a multiple of the chunk.
    const cases: [number[], number[], boolean, boolean][] = [
      [[300, 256], [256, 96], false, false],
      [[256, 300], [256, 96], true, false],
      [[130, 128], [384, 128], false, true],
      [[64, 40, 48], [64, 48, 40], false, false],
      [[64, 40, 48], [64, 40, 48], false, true],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = tf.tensor(
        values(
          sa.reduce((x, y) => x * y),
          7,
        ),
        sa,
      );
      const b = tf.tensor(
        values(
          sb.reduce((x, y) => x * y),
          8,
        ),
        sb,
      );
      try {
        useLoopHelper(true);
        const shared = tf.matMul(a, b, ta, tb);
        useLoopHelper(false);
        const alone = tf.matMul(a, b, ta, tb);
        assert.deepEqual(shared.dataSync(), alone.dataSync(), `${sa} x ${sb}`);
        tf.dispose([shared, alone]);
      } finally {
        useLoopHelper(true);
        tf.dispose([a, b]);
      }
    }
    assert.throws(() => useLoopHelper(1 as unknown as boolean), /expected true or false, got 1/);
  });
});
