import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { classificationAccuracy, confusionMatrix, predictClasses } from '../../src/eval/metrics';
import { imageBatches } from '../../src/data/mnist';
import { expectNoLeak } from '../helpers/tensors';

describe('classification metrics', () => {
  // Hand-worked: actual [0, 0, 1, 2, 2, 2], predicted [0, 1, 1, 2, 0, 2] -> 4 of 6 right.
  const actual = [0, 0, 1, 2, 2, 2];
  const predicted = [0, 1, 1, 2, 0, 2];

  it('confusion matrix: rows are the true class, columns the prediction', () => {
    assert.deepEqual(confusionMatrix(predicted, actual, 3), [
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 2],
    ]);
    assert.throws(
      () => confusionMatrix([0, 3], [0, 1], 3),
      /predicted: expected class ids in \[0, 3\), got 3 at 1/,
    );
  });

  it('accuracy from arrays or tensors', async () => {
    assert.equal(classificationAccuracy(predicted, actual), 4 / 6);
    await expectNoLeak(() => {
      const p = tf.tensor1d(predicted, 'int32');
      const a = tf.tensor1d(actual, 'int32');
      assert.equal(classificationAccuracy(p, a), 4 / 6);
      tf.dispose([p, a]);
    });
    assert.throws(() => classificationAccuracy([1, 2], [1]), /actual: expected 2 labels/);
  });

  it('predictClasses runs in batches and takes the argmax', async () => {
    await expectNoLeak(() => {
      // A "model" that scores class k by the k-th feature: the argmax is the largest feature.
      const model = { apply: (x: tf.Tensor) => x.reshape([x.shape[0], 3]) };
      const x = tf.tensor2d([
        [0, 1, 0],
        [5, 1, 2],
        [0, 0, 9],
        [1, 3, 2],
        [7, 0, 0],
      ]);
      assert.deepEqual(Array.from(predictClasses(model, x, 2)), [1, 0, 2, 1, 0]);
      x.dispose();
    });
  });
});

describe('imageBatches', () => {
  it('visits every image once per epoch and shifts with zero fill (hand-checked)', async () => {
    await expectNoLeak(() => {
      // 5 images 3 x 3; image i is all i+1 except pixel (0, 0) = 100 + i, label i.
      const pixels = Array.from({ length: 5 }, (_, i) =>
        Array.from({ length: 9 }, (_, p) => (p === 0 ? 100 + i : i + 1)),
      ).flat();
      const split = {
        x: tf.tensor4d(pixels, [5, 3, 3, 1]),
        y: tf.tensor1d([0, 1, 2, 3, 4], 'int32'),
      };
      const plain = imageBatches(split, { batchSize: 2, seed: 1 });
      const seen: number[] = [];
      for (let step = 1; step <= 3; step++) {
        const b = plain(step);
        const ys = Array.from(b.y.dataSync());
        const xs = b.x.dataSync();
        ys.forEach((label, i) => assert.equal(xs[i * 9], 100 + label)); // images stay with their labels
        seen.push(...ys);
        tf.dispose(b);
      }
      assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4]);
      // Step 4 starts the next epoch; the same step gives the same batch.
      const [a, b] = [plain(4), plain(4)];
      assert.deepEqual(a.y.dataSync(), b.y.dataSync());
      tf.dispose([a, b]);
      // With shifts each image keeps its sum minus what fell off, and nothing else appears:
      // every pixel is 0, the image's fill value or its marker.
      const shifted = imageBatches(split, { batchSize: 5, seed: 2, maxShift: 1 });
      let moved = 0;
      for (let step = 1; step <= 4; step++) {
        const s = shifted(step);
        const xs = s.x.dataSync();
        Array.from(s.y.dataSync()).forEach((label, i) => {
          const img = Array.from(xs.slice(i * 9, i * 9 + 9));
          img.forEach((v) => assert.ok([0, label + 1, 100 + label].includes(v), `pixel ${v}`));
          const marker = img.indexOf(100 + label);
          if (marker !== 0) moved++;
          if (marker > 0) {
            // The marker moved by (dr, dc) in {0, 1}^2: the pixels above / left of it are 0.
            const [r, c] = [Math.floor(marker / 3), marker % 3];
            for (let k = 0; k < 9; k++) {
              if (Math.floor(k / 3) < r || k % 3 < c) assert.equal(img[k], 0);
            }
          }
        });
        tf.dispose(s);
      }
      assert.ok(moved > 0, 'no image was shifted');
      tf.dispose(split);
    });
  });
});
