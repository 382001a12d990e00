import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { classificationAccuracy, confusionMatrix, predictClasses } from '../../src/eval/metrics';
import { affineResample, imageBatches } from '../../src/data/mnist';
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

  it('rotations and scalings are reproducible, keep pixels in range and change every image', async () => {
    await expectNoLeak(() => {
      // 4 images 8 x 8 in [0, 1]
      const x = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
      const split = { x: x, y: tf.tensor1d([0, 1, 2, 3], 'int32') };
      const source = imageBatches(split, { batchSize: 4, seed: 3, maxRotation: 15, maxScale: 0.1 });
      const [a, b] = [source(1), source(1)];
      assert.deepEqual(a.x.dataSync(), b.x.dataSync());
      const xs = a.x.dataSync();
      assert.ok(
        xs.every((v) => v >= 0 && v <= 1 + 1e-6),
        'a resampled pixel left [0, 1]',
      );
      // Bilinear resampling under a random angle changes the images.
      const original = x.dataSync();
      const ys = Array.from(a.y.dataSync());
      const changed = ys.filter((label, i) =>
        xs.slice(i * 64, i * 64 + 64).some((v, k) => Math.abs(v - original[label * 64 + k]) > 1e-3),
      );
      assert.equal(changed.length, 4);
      tf.dispose([a, b, split]);
    });
    const split = { x: tf.zeros([2, 4, 4, 1]) as tf.Tensor4D, y: tf.tensor1d([0, 1], 'int32') };
    assert.throws(
      () => imageBatches(split, { batchSize: 2, maxRotation: -1 }),
      /opts.maxRotation: expected degrees in \[0, 180\], got -1/,
    );
    assert.throws(
      () => imageBatches(split, { batchSize: 2, maxScale: 1 }),
      /opts.maxScale: expected a fraction in \[0, 1\), got 1/,
    );
    tf.dispose(split);
  });

  it('flips mirror rows left to right (hand-checked), about half the images, shifts unchanged', async () => {
    await expectNoLeak(() => {
      // 40 images 2 x 3 with 2 channels: image i holds i*100 + (pixel index * 2 + channel).
      const n = 40;
      const one = (i: number) => Array.from({ length: 12 }, (_, k) => i * 100 + k);
      const split = {
        x: tf.tensor4d(Array.from({ length: n }, (_, i) => one(i)).flat(), [n, 2, 3, 2]),
        y: tf.tensor1d(
          Array.from({ length: n }, (_, i) => i),
          'int32',
        ),
      };
      // Mirrored by hand: row [p0 p1 p2] -> [p2 p1 p0], each pixel keeping its (c0, c1) pair.
      const mirrored = (i: number) =>
        [4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7].map((k) => i * 100 + k);
      const b = imageBatches(split, { batchSize: n, seed: 4, flip: true })(1);
      const xs = Array.from(b.x.dataSync());
      let flipped = 0;
      Array.from(b.y.dataSync()).forEach((label, i) => {
        const img = xs.slice(i * 12, i * 12 + 12);
        const isFlipped = img[0] === mirrored(label)[0];
        assert.deepEqual(img, isFlipped ? mirrored(label) : one(label));
        if (isFlipped) flipped++;
      });
      assert.ok(flipped >= 10 && flipped <= 30, `${flipped} of ${n} images flipped`);
      // Shifts draw from their own stream: with flips on, every unflipped image has the same
      // shift as without flips.
      const plain = imageBatches(split, { batchSize: n, seed: 5, maxShift: 1 })(1);
      const both = imageBatches(split, { batchSize: n, seed: 5, maxShift: 1, flip: true })(1);
      const [p, q] = [Array.from(plain.x.dataSync()), Array.from(both.x.dataSync())];
      let same = 0;
      for (let i = 0; i < n; i++) {
        const a = p.slice(i * 12, i * 12 + 12);
        const c = q.slice(i * 12, i * 12 + 12);
        if (a.every((v, k) => v === c[k])) same++;
      }
      assert.ok(same >= 10 && same < n, `${same} of ${n} batches' images unchanged`);
      tf.dispose([b, plain, both, split]);
    });
    const split = { x: tf.zeros([2, 4, 4, 1]) as tf.Tensor4D, y: tf.tensor1d([0, 1], 'int32') };
    assert.throws(
      () => imageBatches(split, { batchSize: 2, flip: 1 as unknown as boolean }),
      /opts.flip: expected true or false, got 1/,
    );
    tf.dispose(split);
  });
});

describe('affineResample (hand-computed)', () => {
  const image3 = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]); // 3 x 3, row by row
  const resample = (
    from: Float32Array,
    shape: [number, number, number],
    t: { angle: number; scale: number; dr: number; dc: number },
  ): number[] => {
    const to = new Float32Array(from.length);
    affineResample(from, to, shape, t);
    return Array.from(to);
  };
  const close = (got: number[], want: number[]): void => {
    assert.equal(got.length, want.length);
    got.forEach((v, i) =>
      assert.ok(Math.abs(v - want[i]) < 1e-5, `pixel ${i}: ${v} vs ${want[i]}`),
    );
  };

  it('the identity copies; a whole-pixel shift moves with zero fill', () => {
    close(resample(image3, [3, 3, 1], { angle: 0, scale: 1, dr: 0, dc: 0 }), [...image3]);
    // one row down, one column left: out(r, c) = in(r - 1, c + 1)
    close(
      resample(image3, [3, 3, 1], { angle: 0, scale: 1, dr: 1, dc: -1 }),
      [0, 0, 0, 2, 3, 0, 5, 6, 0],
    );
  });

  it('a quarter turn about the centre permutes the pixels (rows point down)', () => {
    // out(r, c) = in(2 - c, r): the first row of the output is the first column read upwards
    close(
      resample(image3, [3, 3, 1], { angle: Math.PI / 2, scale: 1, dr: 0, dc: 0 }),
      [7, 4, 1, 8, 5, 2, 9, 6, 3],
    );
    // two channels move together
    const two = Float32Array.from([...image3].flatMap((v) => [v, -v]));
    const turned = resample(two, [3, 3, 2], { angle: Math.PI / 2, scale: 1, dr: 0, dc: 0 });
    close(
      turned.filter((_, i) => i % 2 === 0),
      [7, 4, 1, 8, 5, 2, 9, 6, 3],
    );
    close(
      turned.filter((_, i) => i % 2 === 1),
      [-7, -4, -1, -8, -5, -2, -9, -6, -3],
    );
  });

  it('zooming by 2 about the centre interpolates between pixels', () => {
    // 5 x 5 image with value 10 r + c; out(r, c) = in(2 + (r - 2) / 2, 2 + (c - 2) / 2), and
    // bilinear interpolation of a linear function is exact: 10 (2 + (r - 2) / 2) + 2 + (c - 2) / 2.
    const ramp = Float32Array.from({ length: 25 }, (_, i) => 10 * Math.floor(i / 5) + (i % 5));
    const want = Array.from({ length: 25 }, (_, i) => {
      const [r, c] = [Math.floor(i / 5), i % 5];
      return 10 * (2 + (r - 2) / 2) + 2 + (c - 2) / 2;
    });
    close(resample(ramp, [5, 5, 1], { angle: 0, scale: 2, dr: 0, dc: 0 }), want);
    // shrinking by 2 reads outside the image at the border: out(0, 0) = in(-2, -2) = 0
    const shrunk = resample(ramp, [5, 5, 1], { angle: 0, scale: 0.5, dr: 0, dc: 0 });
    assert.equal(shrunk[0], 0);
    assert.equal(shrunk[12], ramp[12]); // the centre stays
  });

  it('rejects bad arguments, naming them', () => {
    const to = new Float32Array(9);
    const t = { angle: 0, scale: 1, dr: 0, dc: 0 };
    assert.throws(
      () => affineResample(image3, new Float32Array(8), [3, 3, 1], t),
      /to: expected a Float32Array of Hi\*Wi\*C = 9 pixels, got length 8/,
    );
    assert.throws(
      () => affineResample(image3, to, [3, 3, 1], { ...t, scale: 0 }),
      /t.scale: expected a factor > 0, got 0/,
    );
    assert.throws(
      () => affineResample(image3, to, [3, 3, 1], { ...t, angle: NaN }),
      /t.angle: expected a finite number, got NaN/,
    );
  });
});
