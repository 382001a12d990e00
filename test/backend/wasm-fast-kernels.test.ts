// The wasm fast kernels (Tanh, Exp, Tile, Transpose, Sum, GatherV2, Conv2DBackpropInput) must
// give what the cpu backend (the reference) gives: Tile and Transpose bit for bit, Sum up to
// float32 summation order, Tanh within 2.4e-7 of Math.tanh, Exp within 6e-7 relative of
// Math.exp, the conv2d input gradient to 1e-4; and the same gradients.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/backend';
import {
  FAST_WASM_KERNELS,
  installWasmFastKernels,
  installWasmFixes,
  installedWasmFixes,
  silenceCpuNodeHint,
  uninstallWasmFastKernels,
} from '../../src/backend/wasm-fixes';
import { useSmallMatMulLoops } from '../../src/backend/small-matmul';

type Dtype = 'float32' | 'int32' | 'bool';
type Op = (x: tf.Tensor) => tf.Tensor;

/** [label, shape, dtype, op] for the kernels that must match cpu exactly. */
const EXACT: Array<[string, number[], Dtype, Op]> = [
  ['tile of a causal-mask shape', [1, 1, 4, 4], 'bool', (x) => tf.tile(x, [2, 3, 1, 1])],
  ['tile of a column', [2, 3, 1], 'float32', (x) => tf.tile(x, [1, 1, 5])],
  ['tile along every axis', [2, 3, 2], 'int32', (x) => tf.tile(x, [2, 2, 3])],
  ['tile of a rank-1', [3], 'float32', (x) => tf.tile(x, [4])],
  ['broadcastTo (a Tile)', [1, 3], 'float32', (x) => tf.broadcastTo(x, [2, 4, 3])],
  ['transpose of a matrix', [37, 19], 'float32', (x) => tf.transpose(x)],
  ['transpose of the last two axes', [3, 20, 17], 'float32', (x) => tf.transpose(x, [0, 2, 1])],
  ['head split [0, 2, 1, 3]', [2, 5, 3, 4], 'float32', (x) => tf.transpose(x, [0, 2, 1, 3])],
  [
    'head split of long runs (copied by set)',
    [2, 3, 2, 70],
    'float32',
    (x) => tf.transpose(x, [0, 2, 1, 3]),
  ],
  ['transpose with size-1 axes', [1, 6, 1, 5], 'int32', (x) => tf.transpose(x, [3, 1, 2, 0])],
  ['transpose of booleans', [4, 3, 2], 'bool', (x) => tf.transpose(x, [1, 0, 2])],
  ['a general permutation (stock)', [2, 3, 4], 'float32', (x) => tf.transpose(x, [2, 0, 1])],
  ['sum of integers over axis 0 (stock)', [5, 3], 'int32', (x) => tf.sum(x, 0)],
  ['gather of rows', [6, 4], 'float32', (x) => tf.gather(x, tf.tensor1d([5, 0, 0, 3], 'int32'))],
  [
    'gather along a middle axis with 2-D indices',
    [2, 5, 3],
    'int32',
    (x) =>
      tf.gather(
        x,
        tf.tensor2d(
          [
            [4, 1],
            [0, 0],
          ],
          [2, 2],
          'int32',
        ),
        1,
      ),
  ],
  ['gather along the last axis', [3, 4], 'float32', (x) => tf.gather(x, [3, 1, 1], 1)],
  ['gather of booleans', [4, 2], 'bool', (x) => tf.gather(x, [2, 3])],
  ['gather with no index', [4, 2], 'float32', (x) => tf.gather(x, tf.tensor1d([], 'int32'))],
];

/** [label, a shape, b shape, transposeA, transposeB]: products with K = 1 (a Multiply). */
const OUTER_PRODUCTS: Array<[string, number[], number[], boolean, boolean]> = [
  ['batched, a transposed', [3, 1, 4], [3, 1, 5], true, false],
  ['batched, b transposed', [3, 4, 1], [3, 5, 1], false, true],
  ['2-D, both transposed', [1, 4], [5, 1], true, true],
  ['a shared row', [2, 3, 4, 1], [1, 5], false, false],
  ['a shared column', [1, 4], [2, 3, 1, 5], true, false],
];

/** [label, shape, op] for sums (float32 order may differ: compared to 1e-5 relative). */
const SUMS: Array<[string, number[], Op]> = [
  ['sum over axis 0', [33, 7], (x) => tf.sum(x, 0)],
  ['sum over the two leading axes, keepDims', [4, 5, 6], (x) => tf.sum(x, [0, 1], true)],
  ['sum over a middle axis', [4, 5, 6], (x) => tf.sum(x, 1)],
  ['sum over the first and last axes', [4, 5, 6], (x) => tf.sum(x, [0, 2], true)],
  ['sum over the last axis (stock)', [4, 5], (x) => tf.sum(x, -1)],
  ['sum over every axis', [3, 4], (x) => tf.sum(x)],
];

/**
 * [label, dy shape, filter shape, input shape, strides, pad]: `tf.conv2dTranspose`, which is the
 * `Conv2DBackpropInput` kernel itself (the input gradient of a convolution).
 */
const INPUT_GRADIENTS: Array<[string, number[], number[], number[], number, 'same' | 'valid']> = [
  ['3x3 stride 2 same (a stem layer)', [3, 4, 4, 5], [3, 3, 4, 5], [3, 7, 7, 4], 2, 'same'],
  ['3x3 stride 2 same, even input', [2, 3, 4, 3], [3, 3, 2, 3], [2, 6, 8, 2], 2, 'same'],
  ['3x3 stride 1 valid, one channel in', [2, 3, 3, 4], [3, 3, 1, 4], [2, 5, 5, 1], 1, 'valid'],
  ['2x2 stride 2 valid (patch embedding)', [2, 2, 2, 6], [2, 2, 3, 6], [2, 4, 4, 3], 2, 'valid'],
  // 360 x 4096 column floats per image: 2 images per chunk of 2^22, so 2 chunks for 3 images.
  [
    '3x3 stride 1 same, batch split into chunks',
    [3, 64, 64, 2],
    [3, 3, 40, 2],
    [3, 64, 64, 40],
    1,
    'same',
  ],
];

function makeInput(shape: number[], dtype: Dtype): tf.Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = Array.from({ length: n }, (_, i) =>
    dtype === 'bool' ? (i * 7) % 3 === 0 : ((i * 37) % 101) - 50.5,
  );
  return tf.tensor(data as number[], shape, dtype);
}

async function runOn(backend: 'cpu' | 'wasm', shape: number[], dtype: Dtype, op: Op) {
  await tf.setBackend(backend);
  const x = makeInput(shape, dtype);
  const y = op(x);
  const result = { shape: y.shape, dtype: y.dtype, data: Array.from(y.dataSync()) };
  tf.dispose([x, y]);
  return result;
}

describe('wasm fast kernels', () => {
  before(async () => {
    await initBackend({ prefer: 'wasm', log: false });
    const cpu = tf.findBackend('cpu') as tf.KernelBackend | null;
    if (cpu !== null) silenceCpuNodeHint(cpu);
  });

  after(async () => {
    installWasmFixes();
    await initBackend({ log: false });
  });

  it('are installed by installWasmFixes and reported by their short names', () => {
    for (const short of Object.values(FAST_WASM_KERNELS)) {
      assert.ok(installedWasmFixes().includes(short), `expected '${short}' in the fix list`);
    }
  });

  for (const [label, shape, dtype, op] of EXACT) {
    it(`equal the cpu backend bit for bit: ${label}`, async () => {
      assert.deepEqual(await runOn('wasm', shape, dtype, op), await runOn('cpu', shape, dtype, op));
    });
  }

  for (const [label, shape, op] of SUMS) {
    it(`equal the cpu backend to float32 rounding: ${label}`, async () => {
      const expected = await runOn('cpu', shape, 'float32', op);
      const actual = await runOn('wasm', shape, 'float32', op);
      assert.deepEqual(actual.shape, expected.shape);
      actual.data.forEach((v, i) => {
        const e = expected.data[i];
        assert.ok(Math.abs(v - e) <= 1e-5 * Math.max(1, Math.abs(e)), `at ${i}: ${v} vs ${e}`);
      });
    });
  }

  it('throw on a gather index out of range, as cpu does, and leak nothing', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = makeInput([3, 2], 'float32');
    const ids = tf.tensor1d([0, 3], 'int32');
    assert.throws(() => tf.gather(x, ids), /GatherV2: the index value 3 is not in \[0, 2\]/);
    tf.dispose([x, ids]);
    assert.equal(tf.memory().numTensors, before);
  });

  for (const [label, aShape, bShape, tA, tB] of OUTER_PRODUCTS) {
    it(`give the cpu matMul with K = 1: ${label}`, async () => {
      const run = async (backend: 'cpu' | 'wasm') => {
        await tf.setBackend(backend);
        const a = makeInput(aShape, 'float32');
        const b = tf.reverse(makeInput(bShape, 'float32'));
        const y = tf.matMul(a, b, tA, tB);
        const result = { shape: y.shape, data: Array.from(y.dataSync()) };
        tf.dispose([a, b, y]);
        return result;
      };
      assert.deepEqual(await run('wasm'), await run('cpu'));
    });
  }

  for (const [label, dyShape, fShape, xShape, strides, pad] of INPUT_GRADIENTS) {
    it(`give the cpu conv2d input gradient (1e-4): ${label}`, async () => {
      const run = async (backend: 'cpu' | 'wasm') => {
        await tf.setBackend(backend);
        const dy = tf.mul(makeInput(dyShape, 'float32'), 0.01) as tf.Tensor4D;
        const f = tf.mul(tf.reverse(makeInput(fShape, 'float32')), 0.01) as tf.Tensor4D;
        const dx = tf.conv2dTranspose(
          dy,
          f,
          xShape as [number, number, number, number],
          strides,
          pad,
        );
        const result = { shape: dx.shape, data: Array.from(dx.dataSync()) };
        tf.dispose([dy, f, dx]);
        return result;
      };
      const expected = await run('cpu');
      const actual = await run('wasm');
      assert.deepEqual(actual.shape, expected.shape);
      assert.ok(
        expected.data.some((v) => v !== 0),
        'expected a gradient that is not all zeros',
      );
      actual.data.forEach((v, i) =>
        assert.ok(Math.abs(v - expected.data[i]) <= 1e-4, `at ${i}: ${v} vs ${expected.data[i]}`),
      );
    });
  }

  it('give the same values with the wasm loops switched off (their JavaScript fallbacks)', async () => {
    await tf.setBackend('wasm');
    const x = tf.mul(makeInput([2, 9, 7, 3], 'float32'), 0.01) as tf.Tensor4D;
    const f = tf.mul(tf.reverse(makeInput([3, 3, 3, 4], 'float32')), 0.01) as tf.Tensor4D;
    const run = (): number[][] =>
      tf.tidy(() => {
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), 1.5)),
        )([x, f]);
        const heads = tf.transpose(tf.reshape(x, [2, 9, 7, 3]), [0, 2, 1, 3]);
        return [dx, df, tf.sum(x, [0, 1]), heads].map((t) => Array.from(t.dataSync()));
      });
    const on = run();
    let off: number[][];
    try {
      useSmallMatMulLoops(false);
      off = run();
    } finally {
      useSmallMatMulLoops(true);
    }
    on.forEach((values, t) =>
      values.forEach((v, i) =>
        assert.ok(
          Math.abs(v - off[t][i]) <= 1e-6 * (1 + Math.abs(v)),
          `${t}/${i}: ${v} vs ${off[t][i]}`,
        ),
      ),
    );
    tf.dispose([x, f]);
  });

  it('compute tanh within 2.4e-7 of Math.tanh, from -20 to 20 and near 0', async () => {
    await tf.setBackend('wasm');
    const xs = [
      ...Array.from({ length: 4001 }, (_, i) => -20 + i * 0.01),
      ...[1e-30, -1e-7, 1e-3, -0.0625, 88, -88, Infinity, -Infinity],
    ];
    const got = tf.tidy(() => Array.from(tf.tanh(tf.tensor1d(xs)).dataSync()));
    xs.forEach((x, i) => {
      const err = Math.abs(got[i] - Math.tanh(Math.fround(x)));
      assert.ok(err <= 2.4e-7, `tanh(${x}): got ${got[i]}, error ${err}`);
    });
    assert.ok(Number.isNaN(tf.tidy(() => tf.tanh(tf.scalar(NaN)).dataSync()[0])));
  });

  it('compute exp within 6e-7 relative of Math.exp over float32 normal results, and its limits', async () => {
    await tf.setBackend('wasm');
    const xs = [
      ...Array.from({ length: 17501 }, (_, i) => -87 + i * 0.01), // up to 88
      ...[88.5, 88.7, -1e-7, 1e-30],
    ];
    const got = tf.tidy(() => Array.from(tf.exp(tf.tensor1d(xs)).dataSync()));
    xs.forEach((x, i) => {
      const exact = Math.exp(Math.fround(x));
      const rel = Math.abs(got[i] - exact) / exact;
      assert.ok(rel <= 6e-7, `exp(${x}): got ${got[i]}, relative error ${rel}`);
    });
    const limits = tf.tidy(() =>
      Array.from(tf.exp(tf.tensor1d([88.8, Infinity, -Infinity, -200, 0])).dataSync()),
    );
    assert.deepEqual(limits, [Infinity, Infinity, 0, 0, 1]); // float32 overflow above 88.72
    assert.ok(Number.isNaN(tf.tidy(() => tf.exp(tf.scalar(NaN)).dataSync()[0])));
  });

  it('give the cpu gradients through exp, tanh, tile, transpose and sum (1e-6)', async () => {
    const op: Op = (x) =>
      tf.grad((y: tf.Tensor) => {
        const t = tf.transpose(tf.exp(tf.tanh(tf.mul(y, 0.05))), [1, 0, 2]); // [3, 4, 2] -> [4, 3, 2]
        const tiled = tf.tile(t, [1, 2, 1]); // [4, 6, 2]
        return tf.sum(tf.mul(tf.sum(tiled, 0), tf.range(1, 13).reshape([6, 2])));
      })(x);
    const expected = await runOn('cpu', [3, 4, 2], 'float32', op);
    const actual = await runOn('wasm', [3, 4, 2], 'float32', op);
    actual.data.forEach((v, i) =>
      assert.ok(Math.abs(v - expected.data[i]) <= 1e-6, `at ${i}: ${v} vs ${expected.data[i]}`),
    );
  });

  it('restore the stock kernels on uninstall, are idempotent, and leak no tensors', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = makeInput([5, 4], 'float32');
    const f = makeInput([3, 3, 2, 2], 'float32') as tf.Tensor4D;
    const run = (): number[] =>
      tf.tidy(() => [
        ...tf.transpose(tf.tile(x, [2, 1])).dataSync(),
        ...tf
          .conv2dTranspose(tf.reshape(x, [1, 5, 2, 2]) as tf.Tensor4D, f, [1, 9, 3, 2], 2, 'same')
          .dataSync(),
      ]);
    uninstallWasmFastKernels();
    assert.ok(!installedWasmFixes().includes('transpose'));
    const stock = run();
    installWasmFastKernels();
    installWasmFastKernels();
    assert.ok(installedWasmFixes().includes('transpose'));
    assert.deepEqual(run(), stock);
    tf.dispose([x, f]);
    assert.equal(tf.memory().numTensors, before);
  });
});
