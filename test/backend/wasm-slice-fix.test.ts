// The wasm slice fix (Slice, SplitV, Unpack that copy only the slice out of the heap) must give
// exactly what the cpu backend (the reference) gives, on contiguous and strided slices alike.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/backend';
import {
  installWasmFixes,
  installWasmSliceFix,
  installedWasmFixes,
  silenceCpuNodeHint,
  uninstallWasmSliceFix,
  wasmSliceFixInstalled,
} from '../../src/backend/wasm-fixes';

type Op = (x: tf.Tensor) => tf.Tensor[];

/** [label, shape, dtype, op]: every op returns a list of tensors. */
const CASES: Array<[string, number[], 'float32' | 'int32' | 'bool', Op]> = [
  ['contiguous rows of a rank-3', [4, 3, 5], 'float32', (x) => [tf.slice(x, [1, 0, 0], [2, 3, 5])]],
  ['strided rank-2 block', [5, 7], 'float32', (x) => [tf.slice(x, [1, 2], [3, 4])]],
  ['strided rank-3 block', [4, 5, 6], 'int32', (x) => [tf.slice(x, [1, 1, 2], [2, 3, 3])]],
  [
    'strided rank-5 block',
    [2, 3, 2, 3, 4],
    'float32',
    (x) => [tf.slice(x, [1, 1, 0, 1, 1], [1, 2, 2, 2, 2])],
  ],
  [
    'a single element and size -1',
    [3, 4],
    'float32',
    (x) => [tf.slice(x, [2, 3], [1, 1]), tf.slice(x, [1, 1], [-1, -1])],
  ],
  ['an empty slice', [3, 4], 'float32', (x) => [tf.slice(x, [1, 0], [0, 4])]],
  ['booleans', [3, 4], 'bool', (x) => [tf.slice(x, [0, 1], [3, 2])]],
  ['split along the first axis', [6, 2, 3], 'float32', (x) => tf.split(x, [1, 3, 2], 0)],
  ['split along the last axis', [3, 9], 'float32', (x) => tf.split(x, [6, 3], 1)],
  ['split along a middle axis', [2, 6, 3], 'int32', (x) => tf.split(x, 3, 1)],
  ['unstack along the first axis', [5, 3, 2], 'float32', (x) => tf.unstack(x)],
  ['unstack along a middle axis', [2, 4, 3], 'float32', (x) => tf.unstack(x, 1)],
  ['unstack along the last axis', [2, 3, 4], 'int32', (x) => tf.unstack(x, 2)],
];

function makeInput(shape: number[], dtype: 'float32' | 'int32' | 'bool'): tf.Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = Array.from({ length: n }, (_, i) =>
    dtype === 'bool' ? (i * 7) % 3 === 0 : ((i * 37) % 101) - 50.5,
  );
  return tf.tensor(data as number[], shape, dtype === 'float32' ? 'float32' : dtype);
}

async function runOn(
  backend: 'cpu' | 'wasm',
  shape: number[],
  dtype: 'float32' | 'int32' | 'bool',
  op: Op,
) {
  await tf.setBackend(backend);
  const x = makeInput(shape, dtype);
  const outs = op(x);
  const result = outs.map((t) => ({
    shape: t.shape,
    dtype: t.dtype,
    data: Array.from(t.dataSync()),
  }));
  tf.dispose([x, ...outs]);
  return result;
}

describe('wasm slice fix', () => {
  before(async () => {
    await initBackend({ prefer: 'wasm', log: false });
    const cpu = tf.findBackend('cpu') as tf.KernelBackend | null;
    if (cpu !== null) silenceCpuNodeHint(cpu);
  });

  after(async () => {
    installWasmFixes();
    await initBackend({ log: false });
  });

  it('is installed by installWasmFixes and reported as "slice"', () => {
    assert.equal(wasmSliceFixInstalled(), true);
    assert.ok(installedWasmFixes().includes('slice'));
  });

  for (const [label, shape, dtype, op] of CASES) {
    it(`equals the cpu backend bit for bit: ${label}`, async () => {
      const expected = await runOn('cpu', shape, dtype, op);
      const actual = await runOn('wasm', shape, dtype, op);
      assert.deepEqual(actual, expected);
    });
  }

  it('gives the same gradients as cpu through slice, split and unstack', async () => {
    const op: Op = (x) => [
      tf.grad((y: tf.Tensor) => {
        const parts = tf.unstack(tf.split(y, [1, 2], 1)[1]); // [3, 3, 2] -> [3, 2, 2] -> 3 x [2, 2]
        return parts.reduce(
          (acc, p, i) => tf.add(acc, tf.sum(tf.mul(p, i + 1))),
          tf.sum(tf.slice(y, [0, 0, 1], [2, 3, 1])),
        );
      })(x),
    ];
    assert.deepEqual(
      await runOn('wasm', [3, 3, 2], 'float32', op),
      await runOn('cpu', [3, 3, 2], 'float32', op),
    );
    await tf.setBackend('wasm');
  });

  it('restores the stock kernels on uninstall, is idempotent, and leaks no tensors', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = makeInput([4, 3], 'float32');
    const rows = (): number[][] =>
      tf.tidy(() => tf.unstack(x).map((t) => Array.from(t.dataSync())));
    uninstallWasmSliceFix();
    assert.equal(wasmSliceFixInstalled(), false);
    const stock = rows();
    installWasmSliceFix();
    installWasmSliceFix();
    assert.equal(wasmSliceFixInstalled(), true);
    assert.deepEqual(rows(), stock);
    tf.dispose(x);
    assert.equal(tf.memory().numTensors, before);
  });
});
