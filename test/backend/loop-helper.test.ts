// The helper thread of the course's loops (src/backend/loop-helper.ts) on a shared memory of its
// own, without tfjs: a product shared between two threads, chunk by chunk, must give exactly the
// bits of the same loop on one thread, and both must match a float64 triple loop; bad jobs are
// refused with messages that name what is wrong.
import * as assert from 'node:assert/strict';
import { LoopHelper, type SharedJob } from '../../src/backend/loop-helper';
import {
  SMALL_MATMUL_SHARED_FMA_WASM_BASE64,
  SMALL_MATMUL_SHARED_WASM_BASE64,
} from '../../src/backend/small-matmul-wasm';

type Loop = (...args: number[]) => void;

/** Seeded values in [-1, 1), as float32. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648) * 2 - 1;
  }
  return out;
}

/** A shared memory, the loops on it, and a bump allocator of float32 arrays. */
function setUp(base64: string) {
  const module = new WebAssembly.Module(Buffer.from(base64, 'base64'));
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
  const loops = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<
    string,
    Loop
  >;
  let top = 1024;
  const put = (data: Float32Array | number): { at: number; view: Float32Array } => {
    const n = typeof data === 'number' ? data : data.length;
    const view = new Float32Array(memory.buffer, top, n);
    if (typeof data !== 'number') view.set(data);
    const at = top;
    top += Math.ceil((n * 4) / 16) * 16;
    return { at, view };
  };
  return { module, memory, loops, put };
}

/** Relaxed SIMD may be off in this V8 (Node 20 needs a flag); the library sets it, so do we. */
function fusedCompiles(): boolean {
  try {
    new WebAssembly.Module(Buffer.from(SMALL_MATMUL_SHARED_FMA_WASM_BASE64, 'base64'));
    return true;
  } catch {
    require('node:v8').setFlagsFromString('--experimental-wasm-relaxed-simd');
    return WebAssembly.validate(Buffer.from(SMALL_MATMUL_SHARED_FMA_WASM_BASE64, 'base64'));
  }
}

describe('loop helper: products shared with a second thread', function () {
  this.timeout(60_000);
  const builds: [string, string][] = [['plain', SMALL_MATMUL_SHARED_WASM_BASE64]];
  if (fusedCompiles()) builds.push(['fused', SMALL_MATMUL_SHARED_FMA_WASM_BASE64]);

  for (const [name, base64] of builds) {
    describe(`${name} build`, () => {
      const env = setUp(base64);
      let helper: LoopHelper;
      before(() => {
        helper = new LoopHelper(env.module, env.memory);
        assert.ok(helper.waitUntilReady(20_000), `helper not ready: ${helper.whyNot}`);
      });
      after(() => helper.stop());

      // [M, K, N, rows per chunk, A transposed]: chunks of 4 rows to the whole, edges of the tile.
      const cases: [number, number, number, number, boolean][] = [
        [64, 40, 24, 4, false],
        [130, 257, 70, 16, true],
        [37, 300, 19, 8, false],
        [9, 5, 33, 12, false],
      ];
      for (const [M, K, N, perChunk, ta] of cases) {
        it(`gemm [${M}, ${K}] x [${K}, ${N}]${ta ? ', A^T' : ''} in chunks of ${perChunk} rows: the bits of one thread`, () => {
          const A = values(M * K, M + K);
          const B = values(K * N, N + 7);
          const a = env.put(A);
          const b = env.put(B);
          const one = env.put(M * N);
          const two = env.put(M * N);
          const F = 4;
          const [aRow, aCol] = ta ? [F, M * F] : [K * F, F];
          env.loops.gemm(a.at, b.at, one.at, M, K, N, aRow, aCol, N * F);
          const job: SharedJob = {
            loop: 'gemm',
            args: [a.at, b.at, two.at, M, K, N, aRow, aCol, N * F],
            deltas: [aRow, 0, N * F],
            units: M,
            perChunk,
          };
          helper.share(job, (args) => env.loops.gemm(...args));
          assert.deepEqual(two.view, one.view);
          // And both are the product: A stored [K, M] when transposed.
          for (const [m, n] of [
            [0, 0],
            [M - 1, N - 1],
            [M >> 1, N >> 1],
          ]) {
            let s = 0;
            for (let k = 0; k < K; k++) s += (ta ? A[k * M + m] : A[m * K + k]) * B[k * N + n];
            assert.ok(Math.abs(two.view[m * N + n] - s) < 1e-4 * K, `C[${m}, ${n}]`);
          }
        });
      }

      it('bmm_nn and bmm_nt in chunks of slices: the bits of one thread', () => {
        const [S, M, K, N] = [13, 7, 9, 6];
        const a = env.put(values(S * M * K, 3));
        const b = env.put(values(S * K * N, 4));
        const F = 4;
        for (const loop of ['bmm_nn', 'bmm_nt'] as const) {
          const one = env.put(S * M * N);
          const two = env.put(S * M * N);
          // B stored [K, N] for bmm_nn, [N, K] for bmm_nt: the same bytes, read two ways.
          const strides =
            loop === 'bmm_nn'
              ? [M * K * F, K * F, F, K * N * F, N * F]
              : [M * K * F, K * F, K * N * F, K * F];
          env.loops[loop](a.at, b.at, one.at, S, M, K, N, ...strides);
          helper.share(
            {
              loop,
              args: [a.at, b.at, two.at, S, M, K, N, ...strides],
              deltas: [M * K * F, K * N * F, M * N * F],
              units: S,
              perChunk: 2,
            },
            (args) => env.loops[loop](...args),
          );
          assert.deepEqual(two.view, one.view, loop);
          assert.ok(
            one.view.some((x) => x !== 0),
            `${loop} wrote nothing`,
          );
        }
      });

      it('runs many jobs in a row (the helper joins some, the main thread does the rest)', () => {
        const [M, K, N] = [16, 8, 8];
        const a = env.put(values(M * K, 5));
        const b = env.put(values(K * N, 6));
        const one = env.put(M * N);
        env.loops.gemm(a.at, b.at, one.at, M, K, N, K * 4, 4, N * 4);
        for (let round = 0; round < 300; round++) {
          const two = env.put(M * N);
          const job: SharedJob = {
            loop: 'gemm',
            args: [a.at, b.at, two.at, M, K, N, K * 4, 4, N * 4],
            deltas: [K * 4, 0, N * 4],
            units: M,
            perChunk: 4,
          };
          helper.share(job, (args) => env.loops.gemm(...args));
          assert.deepEqual(two.view, one.view, `round ${round}`);
        }
      });

      it('refuses bad jobs, naming what is wrong', () => {
        const job: SharedJob = {
          loop: 'gemm',
          args: [0, 0, 0, 8, 1, 1, 4, 4, 4],
          deltas: [4, 0, 4],
          units: 8,
          perChunk: 4,
        };
        const noop = (): void => undefined;
        assert.throws(() => helper.share({ ...job, units: 9 }, noop), /argument 3 = units \(9\)/);
        assert.throws(
          () => helper.share({ ...job, perChunk: 0 }, noop),
          /positive integer units and perChunk, got 8 and 0/,
        );
        assert.throws(
          () => helper.share({ ...job, loop: 'sum_rows' as SharedJob['loop'] }, noop),
          /expected loop to be one of gemm, bmm_nn, bmm_nt, got sum_rows/,
        );
        // A trap on the helper's side is reported, and the helper takes the next job. This thread
        // dawdles over its chunk (two chunks in all) so that the helper claims the other one.
        const far = 64 * 65536;
        const dawdle = (): void => {
          const end = Date.now() + 200;
          while (Date.now() < end);
        };
        assert.throws(
          () => helper.share({ ...job, args: [far, far, far, 8, 1, 1, 4, 4, 4] }, dawdle),
          /the helper's part of a gemm trapped/,
        );
        const c = env.put(8);
        const x = env.put(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
        const y = env.put(Float32Array.from([2]));
        helper.share({ ...job, args: [x.at, y.at, c.at, 8, 1, 1, 4, 4, 4] }, (args) =>
          env.loops.gemm(...args),
        );
        assert.deepEqual([...c.view], [2, 4, 6, 8, 10, 12, 14, 16]);
      });
    });
  }

  it('refuses an unshared memory or a module that is not one', () => {
    const module = new WebAssembly.Module(Buffer.from(SMALL_MATMUL_SHARED_WASM_BASE64, 'base64'));
    assert.throws(
      () => new LoopHelper(module, new WebAssembly.Memory({ initial: 1 })),
      /expected memory to be a shared WebAssembly.Memory/,
    );
    assert.throws(
      () =>
        new LoopHelper(
          {} as WebAssembly.Module,
          new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }),
        ),
      /expected module to be a WebAssembly.Module, got object/,
    );
  });

  it('a stopped helper takes no jobs and says why', () => {
    const env = setUp(SMALL_MATMUL_SHARED_WASM_BASE64);
    const helper = new LoopHelper(env.module, env.memory);
    helper.stop();
    assert.equal(helper.ready, false);
    assert.equal(helper.whyNot, 'stopped');
    assert.throws(
      () =>
        helper.share(
          { loop: 'gemm', args: [0, 0, 0, 4], deltas: [0, 0, 0], units: 4, perChunk: 4 },
          () => undefined,
        ),
      /the helper is not ready/,
    );
  });
});
