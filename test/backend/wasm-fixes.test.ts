// The wasm fixes must compute what the cpu backend (the reference implementation) computes, forward
// and backward, on every path they add: each case runs the same seeded inputs on cpu and on wasm.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../src/backend/backend';
import {
  MISSING_WASM_KERNELS,
  delegateToCpu,
  installWasmFixes,
  installWasmMatMulFix,
  installWasmMissingKernels,
  installedWasmFixes,
  uninstallWasmMatMulFix,
  uninstallWasmMissingKernels,
  wasmMatMulFixInstalled,
} from '../../src/backend/wasm-fixes';
import { createRng } from '../../src/core/random';
import { expectTensorsClose } from '../helpers/tensors';

/** Float32 sums in different orders: 1e-4 is ~100 ulps at the magnitudes used here. */
const ATOL = 1e-4;

/** Plain values, independent of any backend. */
interface Values {
  shape: number[];
  data: Float32Array | Int32Array;
  dtype: 'float32' | 'int32';
}

function randomValues(shape: number[], seed: number): Values {
  const rng = createRng(seed);
  const data = new Float32Array(shape.reduce((n, d) => n * d, 1)).map(() => rng.normal());
  return { shape, data, dtype: 'float32' };
}

function intValues(shape: number[], data: number[]): Values {
  return { shape, data: Int32Array.from(data), dtype: 'int32' };
}

function toTensor(v: Values): tf.Tensor {
  return tf.tensor(v.data, v.shape, v.dtype);
}

function toValues(t: tf.Tensor): Values {
  const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
  return { shape: t.shape.slice(), data: t.dataSync() as Float32Array | Int32Array, dtype };
}

/** Runs `fn` on `backend` with fresh tensors made from `inputs`; returns plain values. */
async function runOn(
  backend: 'cpu' | 'wasm',
  inputs: Values[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Values[]> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const xs = inputs.map(toTensor);
    try {
      const out = tf.tidy(() => fn(...xs));
      const list = Array.isArray(out) ? out : [out];
      const values = list.map(toValues);
      tf.dispose(list);
      return values;
    } finally {
      tf.dispose(xs);
    }
  } finally {
    await tf.setBackend(before);
  }
}

/**
 * Builds a small tf.layers model on `backend`, fits it as `fitArgs` says, and returns every weight's
 * values after the fit; restores the previous backend and frees everything it made.
 */
async function weightsAfterFit(
  backend: 'cpu' | 'wasm',
  build: () => { model: tf.Sequential; xs: tf.Tensor; ys: tf.Tensor },
  fitArgs: tf.ModelFitArgs,
): Promise<Float32Array[]> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const { model, xs, ys } = build();
    await model.fit(xs, ys, { verbose: 0, shuffle: false, ...fitArgs });
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    tf.dispose([xs, ys]);
    model.dispose();
    return weights;
  } finally {
    await tf.setBackend(before);
  }
}

/**
 * Asserts that wasm computes what cpu computes, for every output of `fn`, within `atol` (default
 * `ATOL`) plus `rtol` times the magnitude (default 0; long float32 sums need some).
 */
async function expectSameAsCpu(
  label: string,
  inputs: Values[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  { atol = ATOL, rtol = 0 }: { atol?: number; rtol?: number } = {},
): Promise<void> {
  const expected = await runOn('cpu', inputs, fn);
  const actual = await runOn('wasm', inputs, fn);
  assert.equal(actual.length, expected.length, `${label}: number of outputs`);
  actual.forEach((a, i) => {
    const got = tf.tensor(a.data, a.shape, a.dtype);
    try {
      expectTensorsClose(
        got,
        { shape: expected[i].shape, data: Array.from(expected[i].data) },
        { atol, rtol, label: `${label}, output ${i}` },
      );
    } finally {
      got.dispose();
    }
  });
}

/** A scalar loss with a non-uniform upstream gradient, so that transposition errors show. */
function weightedSum(y: tf.Tensor, seed: number): tf.Scalar {
  const w = toTensor(randomValues(y.shape, seed));
  return tf.sum(tf.mul(y, w));
}

function wasmBackend(): BackendWasm {
  return tf.engine().findBackend('wasm') as unknown as BackendWasm;
}

/** Counts of live tensors and of buffers in the wasm and cpu backends. */
function memorySnapshot(): { tensors: number; wasmBuffers: number; cpuBuffers: number } {
  return {
    tensors: tf.memory().numTensors,
    wasmBuffers: wasmBackend().numDataIds(),
    cpuBuffers: tf.engine().findBackend('cpu').numDataIds(),
  };
}

describe('wasm fixes', () => {
  before(async () => {
    // These tests need wasm whatever ATTENTION_BACKEND says; `after` restores the default.
    await initBackend({ prefer: 'wasm', log: false });
  });

  after(async () => {
    installWasmFixes();
    await initBackend({ log: false });
  });

  describe('matMul fix', () => {
    beforeEach(() => installWasmMatMulFix());

    // [label, a shape before transposition, b shape before transposition, which inputs tfjs can
    // differentiate]. Batched slices below 131072 multiply-adds take the SIMD loops
    // (small-matmul.ts; both operands transposed: the stock loop); 64x48x48 = 147456 take the slice
    // loop; [..., K] x [K, N] takes the flattened-batch path.
    type MatMulCase = [string, number[], number[], 'both' | 'a' | 'b'];
    const cases: MatMulCase[] = [
      ['rank 2', [5, 7], [7, 6], 'both'],
      ['rank 2, large enough for XNNPACK packing', [33, 40], [40, 17], 'both'],
      ['rank 3 batched, tiny slices (SIMD loops)', [3, 5, 7], [3, 7, 6], 'both'],
      ['rank 3 batched (SIMD loops)', [3, 20, 24], [3, 24, 18], 'both'],
      ['rank 3 batched (slice loop)', [2, 64, 48], [2, 48, 48], 'both'],
      ['rank 4 batched like attention heads (SIMD loops)', [2, 3, 20, 24], [2, 3, 24, 18], 'both'],
      ['rank 2 x rank 3 broadcast, small slices (SIMD loops, shared a)', [5, 7], [3, 7, 6], 'b'],
      // tfjs 4.22 has no gradient for b here on any backend (it returns b's grad with a batch axis).
      ['rank 3 x rank 2 broadcast (flattened batch)', [4, 5, 7], [7, 6], 'a'],
      ['rank 4 x rank 2 broadcast (flattened batch)', [2, 3, 5, 7], [7, 6], 'a'],
      ['rank 2 x rank 3 broadcast (slice loop, shared a)', [20, 24], [3, 24, 18], 'b'],
      // Over 512 rows: the tiled loop when its multiply-adds are fused, else XNNPACK.
      ['rank 2, 600 rows (tiled with fused multiply-adds)', [600, 24], [24, 20], 'both'],
      ['rank 3 x rank 2, 2 x 300 rows flattened (tiled, fused)', [2, 300, 24], [24, 20], 'a'],
    ];
    const flags: [boolean, boolean][] = [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ];
    const swapLast = (shape: number[]): number[] => [
      ...shape.slice(0, -2),
      ...shape.slice(-2).reverse(),
    ];

    for (const [label, aShape, bShape, differentiable] of cases) {
      for (const [ta, tb] of flags) {
        const name = `${label}, transposeA=${ta}, transposeB=${tb}`;
        const inputs = [
          randomValues(ta ? swapLast(aShape) : aShape, 1),
          randomValues(tb ? swapLast(bShape) : bShape, 2),
        ];

        it(`matMul forward and gradients match cpu: ${name}`, async () => {
          await expectSameAsCpu(`${name}, forward`, inputs, (a, b) => tf.matMul(a, b, ta, tb));
          await expectSameAsCpu(`${name}, gradients`, inputs, (a, b) => {
            const loss = (x: tf.Tensor, y: tf.Tensor): tf.Scalar =>
              weightedSum(tf.matMul(x, y, ta, tb), 3);
            if (differentiable === 'a') return tf.grad((x: tf.Tensor) => loss(x, b))(a);
            if (differentiable === 'b') return tf.grad((y: tf.Tensor) => loss(a, y))(b);
            return tf.grads(loss)([a, b]);
          });
        });
      }
    }

    // The fused kernel: bias and activation applied inside. Gradients exist for linear and relu.
    type FusedCase = [string, number[], number[], tf.fused.Activation, boolean];
    const fusedCases: FusedCase[] = [
      ['rank 2', [5, 7], [7, 6], 'relu', true],
      ['rank 2', [5, 7], [7, 6], 'linear', true],
      ['rank 2', [5, 7], [7, 6], 'sigmoid', false],
      ['rank 2', [5, 7], [7, 6], 'elu', false],
      ['rank 3 batched, tiny slices', [3, 5, 7], [3, 7, 6], 'relu', true],
      ['rank 3 batched', [3, 20, 24], [3, 24, 18], 'linear', true],
      ['rank 3 x rank 2 broadcast', [4, 5, 7], [7, 6], 'relu', false],
    ];
    for (const [label, aShape, bShape, activation, withGrads] of fusedCases) {
      for (const [ta, tb] of flags) {
        const name = `${label}, ${activation}, transposeA=${ta}, transposeB=${tb}`;
        const n = bShape[bShape.length - 1];
        const inputs = [
          randomValues(ta ? swapLast(aShape) : aShape, 4),
          randomValues(tb ? swapLast(bShape) : bShape, 5),
          randomValues([n], 6),
        ];
        const fused = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor): tf.Tensor =>
          tf.fused.matMul({ a, b, bias, activation, transposeA: ta, transposeB: tb });

        it(`fused matMul with bias matches cpu: ${name}`, async () => {
          await expectSameAsCpu(`${name}, forward`, inputs, fused);
          if (withGrads) {
            await expectSameAsCpu(`${name}, gradients`, inputs, (a, b, bias) =>
              tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
                weightedSum(fused(x, y, z), 7),
              )([a, b, bias]),
            );
          }
        });
      }
    }

    const emptyCases: [number[], number[]][] = [
      [
        [3, 0],
        [0, 4],
      ], // K = 0: empty sums
      [
        [2, 3, 0],
        [2, 0, 4],
      ],
      [
        [2, 3, 0],
        [0, 4],
      ],
      [
        [0, 5],
        [5, 3],
      ], // empty outputs
      [
        [2, 0, 5],
        [2, 5, 3],
      ],
    ];
    for (const [aShape, bShape] of emptyCases) {
      it(`handles empty dimensions like cpu: [${aShape}] x [${bShape}]`, async () => {
        const inputs = [
          randomValues(aShape, 43),
          randomValues(bShape, 44),
          randomValues([bShape[bShape.length - 1]], 45),
        ];
        await expectSameAsCpu(`[${aShape}] x [${bShape}]`, inputs, (a, b, bias) => [
          tf.matMul(a, b),
          tf.fused.matMul({ a, b, bias, activation: 'relu' }),
        ]);
      });
    }

    it('keeps a dense layer (tf.layers, fused matMul) training like cpu', async () => {
      const x = randomValues([6, 5], 8);
      const y = randomValues([6, 3], 9);
      const kernel = randomValues([5, 3], 10);
      const build = () => {
        const model = tf.sequential({
          layers: [tf.layers.dense({ inputShape: [5], units: 3, activation: 'relu' })],
        });
        tf.tidy(() => model.layers[0].setWeights([toTensor(kernel), tf.zeros([3])]));
        model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
        return { model, xs: toTensor(x), ys: toTensor(y) };
      };
      const fit = { epochs: 2, batchSize: 6 };
      const [expected] = await weightsAfterFit('cpu', build, fit);
      const actual = tf.tensor((await weightsAfterFit('wasm', build, fit))[0], [5, 3]);
      expectTensorsClose(actual, { shape: [5, 3], data: Array.from(expected) }, { atol: ATOL });
      actual.dispose();
    });

    it('survives a weight reused under a reshaped view (stock wasm aborts the process)', async () => {
      // The stock kernel caches XNNPACK's packed weights by buffer id, and tf.reshape keeps the
      // buffer: the second product would read the cache with the old shape. If this test fails it
      // takes the whole mocha process down with "RuntimeError: Aborted()".
      const inputs = [randomValues([4, 6], 11), randomValues([3, 4], 12), randomValues([3, 6], 13)];
      await expectSameAsCpu('reused weight', inputs, (w, a, a2) => {
        const first = tf.matMul(a, w); // w as [4, 6]
        const second = tf.matMul(a2, tf.reshape(w, [6, 4])); // the same buffer as [6, 4]
        const third = tf.matMul(a, w); // and back
        return [first, second, third];
      });
    });

    it('reports inner-dimension mismatches with both shapes', async () => {
      const before = tf.getBackend();
      await tf.setBackend('wasm');
      try {
        const a = tf.zeros([2, 3, 4]);
        const b = tf.zeros([5, 6]);
        assert.throws(
          () => tf.matMul(a, b),
          /BatchMatMul: expected the inner dimensions to match, got a \[2, 3, 4\] with K = 4 and b \[5, 6\] with K = 5/,
        );
        tf.dispose([a, b]);
      } finally {
        await tf.setBackend(before);
      }
    });

    it('restores the very same stock kernels on uninstall, which still compute correctly', async () => {
      uninstallWasmMatMulFix();
      const stock = tf.getKernel('BatchMatMul', 'wasm');
      const stockFused = tf.getKernel('_FusedMatMul', 'wasm');
      assert.equal(wasmMatMulFixInstalled(), false);

      installWasmMatMulFix();
      assert.equal(wasmMatMulFixInstalled(), true);
      assert.notEqual(tf.getKernel('BatchMatMul', 'wasm').kernelFunc, stock.kernelFunc);
      // The wrapper keeps the stock setup (it binds the C++ function on every backend switch).
      assert.equal(tf.getKernel('BatchMatMul', 'wasm').setupFunc, stock.setupFunc);

      uninstallWasmMatMulFix();
      assert.equal(tf.getKernel('BatchMatMul', 'wasm'), stock);
      assert.equal(tf.getKernel('_FusedMatMul', 'wasm'), stockFused);
      const inputs = [randomValues([3, 5, 7], 14), randomValues([3, 6, 7], 15)];
      await expectSameAsCpu('stock kernel after uninstall', inputs, (a, b) =>
        tf.matMul(a, b, false, true),
      );
    });

    it('is harmless to install twice (no re-registration warning, same wrapper)', async () => {
      const warnings: unknown[][] = [];
      const warn = console.warn;
      console.warn = (...args: unknown[]) => warnings.push(args);
      try {
        installWasmMatMulFix();
        const wrapper = tf.getKernel('BatchMatMul', 'wasm');
        installWasmMatMulFix();
        installWasmFixes();
        assert.equal(tf.getKernel('BatchMatMul', 'wasm'), wrapper);
      } finally {
        console.warn = warn;
      }
      assert.deepEqual(warnings, []);
      const inputs = [randomValues([3, 20, 24], 16), randomValues([3, 18, 24], 17)];
      await expectSameAsCpu('after installing twice', inputs, (a, b) =>
        tf.matMul(a, b, false, true),
      );
      // Uninstalling once restores the stock kernel (nothing was stacked).
      uninstallWasmMatMulFix();
      assert.equal(wasmMatMulFixInstalled(), false);
    });

    it('leaks neither tensors nor wasm buffers on any path, forward and backward', async () => {
      const before = tf.getBackend();
      await tf.setBackend('wasm');
      try {
        // [a shape, b shape, transposeA, transposeB, the input tfjs can differentiate]
        const shapes: [number[], number[], boolean, boolean, 'a' | 'b'][] = [
          [[5, 7], [6, 7], false, true, 'a'], // rank 2, explicit transpose
          [[4, 5, 7], [7, 6], false, false, 'a'], // flattened batch
          [[3, 24, 20], [3, 24, 18], true, false, 'a'], // slice loop
          [[20, 24], [3, 24, 18], false, false, 'b'], // slice loop with a shared a
          [[3, 5, 7], [3, 7, 6], false, false, 'a'], // stock loop
        ];
        const tensors = shapes.map(([sa, sb], i) => [
          toTensor(randomValues(sa, 20 + i)),
          toTensor(randomValues(sb, 40 + i)),
        ]);
        const run = (): void =>
          shapes.forEach(([, , ta, tb, wrt], i) => {
            const [a, b] = tensors[i];
            tf.tidy(() => {
              tf.matMul(a, b, ta, tb).dataSync();
              tf.fused
                .matMul({ a, b, transposeA: ta, transposeB: tb, activation: 'relu' })
                .dataSync();
              const loss = (x: tf.Tensor, y: tf.Tensor): tf.Scalar =>
                weightedSum(tf.matMul(x, y, ta, tb), 18);
              const grad =
                wrt === 'a'
                  ? tf.grad((x: tf.Tensor) => loss(x, b))(a)
                  : tf.grad((y: tf.Tensor) => loss(a, y))(b);
              grad.dataSync();
            });
          });
        run(); // warm-up: lazily created state (kernel setup, caches) is not a leak
        const start = memorySnapshot();
        const bytes = tf.memory().numBytes;
        run();
        run();
        assert.deepEqual(memorySnapshot(), start);
        assert.equal(tf.memory().numBytes, bytes);
        tf.dispose(tensors);
      } finally {
        await tf.setBackend(before);
      }
    });
  });

  describe('missing kernels', () => {
    beforeEach(() => installWasmMissingKernels());

    it('installs exactly the kernels wasm lacks, and they are what makes the gradients work', async () => {
      uninstallWasmMissingKernels();
      const lacking = MISSING_WASM_KERNELS.filter(
        (name) => tf.getKernel(name, 'wasm') === undefined,
      );
      assert.deepEqual(installWasmMissingKernels(), lacking);
      // On tfjs 4.22 all four are missing; a newer tfjs may ship some, which are then left alone.
      assert.ok(lacking.length > 0, 'expected wasm to lack at least one of the delegated kernels');
      for (const name of lacking) assert.ok(tf.getKernel(name, 'wasm'), `${name} registered`);

      uninstallWasmMissingKernels();
      const before = tf.getBackend();
      await tf.setBackend('wasm');
      try {
        const params = tf.ones([4, 3]);
        const ids = tf.tensor1d([0, 2], 'int32');
        if (lacking.includes('UnsortedSegmentSum')) {
          assert.throws(
            () => tf.grad((p: tf.Tensor) => tf.sum(tf.gather(p, ids)))(params),
            /UnsortedSegmentSum/,
          );
        }
        tf.dispose([params, ids]);
      } finally {
        await tf.setBackend(before);
        installWasmMissingKernels();
      }
      assert.deepEqual(installedWasmFixes().slice(-lacking.length), lacking);
    });

    it('gives the gradient of tf.gather (embedding lookup) as on cpu, repeated ids included', async () => {
      const ids: Values = {
        shape: [2, 4],
        data: Int32Array.from([1, 3, 3, 0, 6, 2, 1, 1]),
        dtype: 'int32',
      };
      const inputs = [randomValues([7, 5], 21), ids];
      await expectSameAsCpu('gather gradient', inputs, (table, idx) =>
        tf.grad((t: tf.Tensor) => weightedSum(tf.gather(t, idx), 22))(table),
      );
    });

    const segmentCases: [string, Values, Values, number][] = [
      [
        'rows, repeated ids and empty segments',
        randomValues([6, 3], 34),
        intValues([6], [0, 2, 2, 5, 1, 0]),
        8,
      ],
      ['a vector', randomValues([5], 35), intValues([5], [4, 4, 0, 1, 4]), 5],
      ['ids out of range are dropped', randomValues([4, 2], 42), intValues([4], [0, 7, -1, 2]), 3],
      [
        'int32 values',
        intValues([4, 2], [1, 2, 3, 4, 5, 6, 7, 8]),
        intValues([4], [1, 0, 1, 1]),
        3,
      ],
    ];
    for (const [label, x, ids, numSegments] of segmentCases) {
      it(`sums segments (tf.unsortedSegmentSum) as on cpu: ${label}`, async () => {
        await expectSameAsCpu(label, [x, ids], (a, i) =>
          tf.unsortedSegmentSum(a, i as tf.Tensor1D, numSegments),
        );
      });
    }

    it('delegateToCpu runs the cpu kernel on wasm data and frees every cpu temporary', async () => {
      // UnsortedSegmentSum has its own kernel; delegating it instead exercises the generic path
      // with two inputs of different dtypes and an attribute.
      uninstallWasmMissingKernels();
      tf.registerKernel(delegateToCpu('UnsortedSegmentSum'));
      try {
        const ids = intValues([5], [3, 0, 3, 1, 6]);
        await expectSameAsCpu(
          'delegated gather gradient',
          [randomValues([7, 4], 36), ids],
          (t, i) => tf.grad((table: tf.Tensor) => weightedSum(tf.gather(table, i), 37))(t),
        );
        const before = tf.getBackend();
        await tf.setBackend('wasm');
        try {
          const x = toTensor(randomValues([5, 4], 38));
          const i = toTensor(ids) as tf.Tensor1D;
          tf.tidy(() => void tf.unsortedSegmentSum(x, i, 7).dataSync()); // warm-up
          const start = memorySnapshot();
          tf.tidy(() => void tf.unsortedSegmentSum(x, i, 7).dataSync());
          assert.deepEqual(memorySnapshot(), start);
          tf.dispose([x, i]);
        } finally {
          await tf.setBackend(before);
        }
      } finally {
        tf.unregisterKernel('UnsortedSegmentSum', 'wasm');
        installWasmMissingKernels();
      }
    });

    it('trains a tiny tf.layers.embedding model like cpu (one fit step)', async () => {
      const table = randomValues([6, 4], 23);
      const dense = randomValues([12, 1], 24);
      const ids = Float32Array.from([0, 1, 2, 3, 4, 5, 5, 4, 1]); // 3 sequences of 3 ids
      const targets = Float32Array.from([0.5, -1, 2]);
      const build = () => {
        const model = tf.sequential({
          layers: [
            tf.layers.embedding({ inputDim: 6, outputDim: 4, inputLength: 3 }),
            tf.layers.flatten(),
            tf.layers.dense({ units: 1, useBias: false }),
          ],
        });
        tf.tidy(() => {
          model.layers[0].setWeights([toTensor(table)]);
          model.layers[2].setWeights([toTensor(dense)]);
        });
        model.compile({ optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError' });
        return { model, xs: tf.tensor2d(ids, [3, 3]), ys: tf.tensor2d(targets, [3, 1]) };
      };
      const fit = { epochs: 1, batchSize: 3 };
      const expected = await weightsAfterFit('cpu', build, fit);
      const actual = await weightsAfterFit('wasm', build, fit);
      // The embedding table moved (the gradient reached it) and equals cpu's.
      assert.ok(
        expected[0].some((v, i) => Math.abs(v - table.data[i]) > 1e-3),
        'expected the fit step to change the embedding table',
      );
      actual.forEach((w, i) => {
        const t = tf.tensor(w);
        expectTensorsClose(t, Array.from(expected[i]), { atol: ATOL, label: `weight ${i}` });
        t.dispose();
      });
    });

    // [label, x shape, filter shape, strides, padding]
    // [label, x shape, filter shape, strides, padding, atol]
    const convCases: [string, number[], number[], number, 'same' | 'valid', number][] = [
      ['3x3 stride 1 same', [2, 6, 6, 3], [3, 3, 3, 4], 1, 'same', ATOL],
      ['3x3 stride 2 valid', [2, 7, 7, 3], [3, 3, 3, 4], 2, 'valid', ATOL],
      ['1x2 stride 1 valid', [1, 5, 4, 2], [1, 2, 2, 3], 1, 'valid', ATOL],
      ['2x2 stride 2 valid (patch embedding)', [2, 8, 8, 3], [2, 2, 3, 5], 2, 'valid', ATOL],
      [
        '3x3 stride 2 same, even input (asymmetric padding)',
        [1, 6, 8, 2],
        [3, 3, 2, 3],
        2,
        'same',
        ATOL,
      ],
      // 360 x 4096 patch floats per image: 2 images per chunk of 2^22, so 2 chunks for 3 images.
      // Each filter-gradient element sums 12288 products: float32 partial sums reach ~100, and
      // the cpu kernel accumulates in float64, hence a larger tolerance.
      [
        '3x3 stride 1 same, batch split into chunks',
        [3, 64, 64, 40],
        [3, 3, 40, 1],
        1,
        'same',
        2e-3,
      ],
    ];
    for (const [label, xShape, fShape, strides, pad, atol] of convCases) {
      it(`gives conv2d input and filter gradients as on cpu: ${label}`, async () => {
        const inputs = [randomValues(xShape, 25), randomValues(fShape, 26)];
        const conv = (x: tf.Tensor, f: tf.Tensor): tf.Tensor =>
          tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad);
        await expectSameAsCpu(
          `conv2d ${label}`,
          inputs,
          (x, f) => tf.grads((a: tf.Tensor, b: tf.Tensor) => weightedSum(conv(a, b), 27))([x, f]),
          { atol },
        );
      });
    }

    it('gives conv2d gradients as on cpu with explicit padding', async () => {
      const inputs = [randomValues([2, 5, 6, 2], 39), randomValues([3, 2, 2, 3], 40)];
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [1, 2],
        [2, 0],
        [0, 0],
      ];
      await expectSameAsCpu('conv2d explicit padding', inputs, (x, f) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          weightedSum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [2, 1], pad), 41),
        )([x, f]),
      );
    });

    const depthwiseCases: [string, number[], number[], number, 'same' | 'valid'][] = [
      ['3x3 multiplier 2 stride 1 same', [2, 5, 5, 3], [3, 3, 3, 2], 1, 'same'],
      ['2x2 multiplier 1 stride 2 valid', [1, 6, 6, 2], [2, 2, 2, 1], 2, 'valid'],
    ];
    for (const [label, xShape, fShape, strides, pad] of depthwiseCases) {
      it(`gives depthwiseConv2d input and filter gradients as on cpu: ${label}`, async () => {
        const inputs = [randomValues(xShape, 28), randomValues(fShape, 29)];
        const conv = (x: tf.Tensor, f: tf.Tensor): tf.Tensor =>
          tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad);
        await expectSameAsCpu(`depthwiseConv2d ${label}`, inputs, (x, f) =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) => weightedSum(conv(a, b), 30))([x, f]),
        );
      });
    }

    it('leaks neither tensors nor buffers in wasm or in the cpu backend it delegates to', async () => {
      const before = tf.getBackend();
      await tf.setBackend('wasm');
      try {
        const table = toTensor(randomValues([7, 5], 31));
        const ids = tf.tensor1d([1, 1, 4], 'int32');
        const x = toTensor(randomValues([1, 5, 5, 2], 32)) as tf.Tensor4D;
        const f = toTensor(randomValues([3, 3, 2, 2], 33)) as tf.Tensor4D;
        const run = (): void =>
          tf.tidy(() => {
            tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, ids)))(table).dataSync();
            tf.grads((a: tf.Tensor, b: tf.Tensor) =>
              tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')),
            )([x, f]);
            tf.grads((a: tf.Tensor, b: tf.Tensor) =>
              tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')),
            )([x, f]);
          });
        run();
        const start = memorySnapshot();
        const bytes = tf.memory().numBytes;
        run();
        run();
        assert.deepEqual(memorySnapshot(), start);
        assert.equal(tf.memory().numBytes, bytes);
        tf.dispose([table, ids, x, f]);
      } finally {
        await tf.setBackend(before);
      }
    });
  });
});
