import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  SYNTHETIC_IMAGE_NAMES,
  drawShapes,
  featureFilters,
  featureMaps,
  featureNames,
  filterBank,
  syntheticImage,
} from '../../src/data/images';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

const transpose = (m: number[][]): number[][] => m[0].map((_, j) => m.map((row) => row[j]));

describe('drawShapes', () => {
  it('draws a rectangle, a disk and a triangle pixel by pixel', () => {
    assert.deepEqual(drawShapes([{ kind: 'rect', top: 1, left: 1, height: 2, width: 3 }], 4, 5), [
      [0, 0, 0, 0, 0],
      [0, 1, 1, 1, 0],
      [0, 1, 1, 1, 0],
      [0, 0, 0, 0, 0],
    ]);
    // Radius 1: the centre and its four neighbours ((r - 2)^2 + (c - 2)^2 <= 1).
    assert.deepEqual(drawShapes([{ kind: 'disk', row: 2, col: 2, radius: 1, value: 0.5 }], 4, 5), [
      [0, 0, 0, 0, 0],
      [0, 0, 0.5, 0, 0],
      [0, 0.5, 0.5, 0.5, 0],
      [0, 0, 0.5, 0, 0],
    ]);
    // Half-widths 0, 1, 2 on rows 0, 1, 2.
    assert.deepEqual(
      drawShapes([{ kind: 'triangle', top: 0, col: 2, height: 3, width: 4 }], 3, 5),
      [
        [0, 0, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [1, 1, 1, 1, 1],
      ],
    );
  });

  it('paints later shapes over earlier ones', () => {
    const pixels = drawShapes(
      [
        { kind: 'rect', top: 0, left: 0, height: 2, width: 2, value: 0.2 },
        { kind: 'rect', top: 1, left: 1, height: 1, width: 1, value: 0.9 },
      ],
      2,
      2,
    );
    assert.deepEqual(pixels, [
      [0.2, 0.2],
      [0.2, 0.9],
    ]);
  });

  it('rejects bad shapes and sizes by name', () => {
    assert.throws(
      () => drawShapes([{ kind: 'star' } as never], 4, 4),
      /shapes\[0\]: expected \{ kind: 'rect' \| 'disk' \| 'triangle'/,
    );
    assert.throws(
      () => drawShapes([{ kind: 'disk', row: 1, col: NaN, radius: 1 }], 4, 4),
      /shapes\[0\]\.col: expected a finite number, got NaN/,
    );
    assert.throws(
      () => drawShapes([{ kind: 'rect', top: 0, left: 0, height: 1, width: 1, value: 2 }], 4, 4),
      /shapes\[0\]\.value: expected a number in \[0, 1\], got 2/,
    );
    assert.throws(() => drawShapes([], 0, 4), /height: expected an integer >= 1, got number 0/);
  });
});

describe('syntheticImage', () => {
  it('draws each named image deterministically, inside the frame, with values in [0, 1]', () => {
    for (const name of SYNTHETIC_IMAGE_NAMES) {
      const a = syntheticImage(name, 32);
      assert.deepEqual(a, syntheticImage(name, 32), name);
      assert.equal(a.pixels.length, 32);
      assert.ok(a.pixels.every((row) => row.length === 32));
      const values = a.pixels.flat();
      assert.ok(values.every((v) => v >= 0 && v <= 1));
      const lit = values.filter((v) => v > 0).length;
      assert.ok(lit > 0.05 * values.length && lit < 0.6 * values.length, `${name}: ${lit} lit`);
      // Nothing touches the border, so zero padding adds no fake edges at the frame.
      const border = [
        ...a.pixels[0],
        ...a.pixels[31],
        ...a.pixels.map((r) => r[0]),
        ...a.pixels.map((r) => r[31]),
      ];
      assert.ok(
        border.every((v) => v === 0),
        `${name} touches the border`,
      );
    }
  });

  it('the horizontal bars are the vertical bars turned by 90 degrees', () => {
    const v = syntheticImage('vertical-bars').pixels;
    const h = syntheticImage('horizontal-bars').pixels;
    assert.deepEqual(h, transpose(v));
  });

  it('the shapes image holds faint specks, then a square, a disk and a triangle that do not overlap', () => {
    const img = syntheticImage('shapes', 40);
    const kinds = img.shapes.map((s) => s.kind);
    assert.deepEqual(kinds.slice(-3), ['rect', 'disk', 'triangle']);
    const specks = img.shapes.slice(0, -3);
    assert.equal(specks.length, 24);
    for (const s of specks) {
      assert.ok(s.kind === 'rect' && s.height === 1 && s.width === 1 && s.value === 0.35);
    }
    const area = (m: number[]) => m.filter((v) => v > 0).length;
    const objects = img.shapes.slice(-3).map((s) => drawShapes([s], 40, 40).flat());
    const together = drawShapes(img.shapes.slice(-3), 40, 40).flat();
    assert.equal(
      area(together),
      objects.reduce((a, m) => a + area(m), 0),
    );
    // Every lit pixel is either part of an object (value >= 0.8) or a speck (0.35).
    assert.ok(img.pixels.flat().every((v) => v === 0 || v === 0.35 || v >= 0.8));
    assert.ok(img.pixels.flat().filter((v) => v === 0.35).length > 10);
  });

  it('rejects unknown names and tiny sizes', () => {
    assert.throws(
      () => syntheticImage('cats' as never),
      /name: expected one of shapes, vertical-bars/,
    );
    assert.throws(
      () => syntheticImage('shapes', 8),
      /size: expected an integer >= 16, got number 8/,
    );
  });
});

describe('feature filters and maps', () => {
  it('has six named 3 x 3 filters; edge filters sum to 0 and brightness to 1', () => {
    const filters = featureFilters();
    assert.deepEqual(featureNames(filters), [
      'vertical edge',
      'horizontal edge',
      'diagonal \\',
      'diagonal /',
      'spot',
      'brightness',
    ]);
    const sums = filters.map((f) => f.kernel.flat().reduce((a, b) => a + b, 0));
    sums.slice(0, 5).forEach((s) => assert.ok(Math.abs(s) < 1e-12));
    assert.ok(Math.abs(sums[5] - 1) < 1e-12);
    const bank = filterBank(filters);
    assert.deepEqual(bank.shape, [3, 3, 1, 6]);
    // bank[u, v, 0, j] is filters[j].kernel[u][v]
    assert.ok(Math.abs((bank.arraySync() as number[][][][])[1][2][0][0] - 0.5) < 1e-7);
    bank.dispose();
  });

  it('matches a hand computation on a unit step, with zero padding at the border', () => {
    // Columns 0..1 dark, 2..3 bright.
    const step = [
      [0, 0, 1, 1],
      [0, 0, 1, 1],
      [0, 0, 1, 1],
    ];
    const maps = featureMaps(step, [featureFilters()[0], featureFilters()[1]]);
    assert.deepEqual(maps.shape, [1, 3, 4, 2]);
    // Vertical edge at an inner row: (1 + 2 + 1) / 4 = 1 at columns 1 and 2. At column 3 the
    // padding is dark: |-(1 + 2 + 1)| / 4 = 1. Rows 0 and 2 lose the padded row: 3/4.
    const vertical = tf.tidy(() => maps.slice([0, 0, 0, 0], [1, 3, 4, 1]).reshape([3, 4]));
    expectTensorsClose(vertical, [
      [0, 0.75, 0.75, 0.75],
      [0, 1, 1, 1],
      [0, 0.75, 0.75, 0.75],
    ]);
    // Horizontal edge: only the padding above row 0 and below row 2 makes one. At (0, 1) the row
    // below holds 0, 0, 1 under weights 1, 2, 1: 1/4; at (0, 2) it holds 0, 1, 1: (2 + 1) / 4.
    const horizontal = tf.tidy(() => maps.slice([0, 0, 0, 1], [1, 3, 4, 1]).reshape([3, 4]));
    expectTensorsClose(horizontal, [
      [0, 0.25, 0.75, 0.75],
      [0, 0, 0, 0],
      [0, 0.25, 0.75, 0.75],
    ]);
    tf.dispose([maps, vertical, horizontal]);
  });

  it('each edge filter responds most to edges of its own orientation', () => {
    const n = 9;
    const halfPlanes: Record<string, number[][]> = {
      'vertical edge': drawShapes([{ kind: 'rect', top: 0, left: 5, height: n, width: 4 }], n, n),
      'horizontal edge': drawShapes([{ kind: 'rect', top: 5, left: 0, height: 4, width: n }], n, n),
      // Bright above the main diagonal: the boundary runs like '\'.
      'diagonal \\': Array.from({ length: n }, (_, r) =>
        Array.from({ length: n }, (__, c) => (c > r ? 1 : 0)),
      ),
      // Bright above the anti-diagonal: the boundary runs like '/'.
      'diagonal /': Array.from({ length: n }, (_, r) =>
        Array.from({ length: n }, (__, c) => (r + c < n - 1 ? 1 : 0)),
      ),
    };
    const names = featureNames();
    for (const [name, img] of Object.entries(halfPlanes)) {
      // Look only at the inner 5 x 5 pixels, away from the padded border.
      const response = tf.tidy(() =>
        Array.from(
          tf.sum(featureMaps(img).slice([0, 2, 2, 0], [1, 5, 5, 4]), [0, 1, 2]).dataSync(),
        ),
      );
      const best = response.indexOf(Math.max(...response));
      assert.equal(names[best], name, `${name}: responses ${response.map((v) => v.toFixed(2))}`);
    }
  });

  it('turning the image by 90 degrees swaps the vertical and horizontal channels', () => {
    const v = featureMaps(syntheticImage('vertical-bars', 24).pixels);
    const h = featureMaps(syntheticImage('horizontal-bars', 24).pixels);
    const vv = tf.tidy(() => v.slice([0, 0, 0, 0], [1, 24, 24, 1]).reshape([24, 24]));
    const hh = tf.tidy(() => h.slice([0, 0, 0, 1], [1, 24, 24, 1]).reshape([24, 24]).transpose());
    expectTensorsClose(hh, vv, { atol: 1e-6 });
    tf.dispose([v, h, vv, hh]);
  });

  it('accepts a tensor image and does not leak', async () => {
    const img = tf.tensor2d(syntheticImage('shapes', 16).pixels);
    const fromArray = featureMaps(syntheticImage('shapes', 16).pixels);
    const fromTensor = await expectNoLeak(() => {
      featureMaps(img).dispose();
      featureMaps(syntheticImage('shapes', 16).pixels).dispose();
      filterBank().dispose();
      return 0;
    });
    assert.equal(fromTensor, 0);
    expectTensorsClose(featureMaps(img), fromArray);
    tf.dispose([img, fromArray]);
  });

  it('rejects bad images and filters by name', () => {
    assert.throws(
      () => featureMaps([[1, 2], [3]]),
      /image: expected a rectangular \[Hi, Wi\] array, row 1/,
    );
    assert.throws(
      () => featureMaps(tf.zeros([2, 2, 1]) as never),
      /image: expected rank 2 \[Hi, Wi\], got rank 3/,
    );
    assert.throws(
      () => featureMaps(tf.tensor2d([[NaN]])),
      /image: expected finite values, got NaN/,
    );
    assert.throws(
      () => filterBank([{ name: 'x', kernel: [[1, 2]] }]),
      /filters\[0\]\.kernel: expected 3 x 3 finite numbers/,
    );
    assert.throws(() => filterBank([]), /filters: expected a non-empty array/);
  });
});
