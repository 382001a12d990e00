import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  bottomUpSaliency,
  centreSurround,
  featureQuery,
  itemMatch,
  itemSaliency,
  normaliseMaps,
  sceneFeatureMaps,
  topDownSaliency,
} from '../../src/experiments/saliency';
import { rasteriseScene, textureScene, type Scene } from '../../src/data/scenes';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

const CELL = 13; // the default cell size

/** A scene of one red bar in a single 13 x 13 cell: bar rows 2..10, columns 5..7 when vertical. */
const single = (orientation: 'vertical' | 'horizontal'): Scene => ({
  gridSize: 1,
  items: [{ row: 0, col: 0, colour: 'red', orientation }],
  targetIndex: 0,
});

/** Row and column of the largest value of a [Hi, Wi] map. */
function argmax2d(map: tf.Tensor2D): [number, number] {
  const flat = map.dataSync();
  let best = 0;
  for (let i = 1; i < flat.length; i++) if (flat[i] > flat[best]) best = i;
  return [Math.floor(best / map.shape[1]), best % map.shape[1]];
}

const cellOf = ([r, c]: [number, number]): [number, number] => [
  Math.floor(r / CELL),
  Math.floor(c / CELL),
];

describe('sceneFeatureMaps', () => {
  it('matches hand-computed colour and orientation responses on one bar', () => {
    const img = rasteriseScene(single('vertical'));
    const maps = sceneFeatureMaps(img).arraySync() as number[][][];
    const at = (r: number, c: number) => maps[r][c].map((v) => Math.round(v * 1e5) / 1e5);
    const r = (x: number) => Math.round(x * 1e5) / 1e5;
    // Centre of the bar: red = 1 - 0.2; vertical = 1 * (9/9 - 3/9); horizontal 0.
    assert.deepEqual(at(6, 6), [0.8, 0, 0, r(2 / 3), 0]);
    // Top end of the bar: the vertical window (rows -2..6, zero padded) covers 5 bar rows.
    assert.deepEqual(at(2, 6), [0.8, 0, 0, r(5 / 9 - 3 / 9), 0]);
    // Beside the bar: dark, so no orientation although the horizontal window sees the bar.
    assert.deepEqual(at(6, 4), [0, 0, 0, 0, 0]);
    img.dispose();
  });

  it('swaps the orientation maps when the image is transposed', () => {
    const v = rasteriseScene(single('vertical'));
    const h = rasteriseScene(single('horizontal'));
    const fv = sceneFeatureMaps(v);
    const fh = sceneFeatureMaps(h);
    expectTensorsClose(
      fh.slice([0, 0, 4], [CELL, CELL, 1]),
      fv.slice([0, 0, 3], [CELL, CELL, 1]).transpose([1, 0, 2]),
    );
    expectTensorsClose(fh.slice([0, 0, 3], [CELL, CELL, 1]), tf.zeros([CELL, CELL, 1]));
    tf.dispose([v, h, fv, fh]);
  });

  it('rejects images that are not [Hi, Wi, 3] float32', () => {
    assert.throws(
      () => sceneFeatureMaps(tf.zeros([4, 4]) as never),
      /image: expected rank 3 \[Hi, Wi, 3\], got rank 2/,
    );
    assert.throws(
      () => sceneFeatureMaps(tf.zeros([4, 4, 1]) as tf.Tensor3D),
      /image: expected shape \[Hi, Wi, 3\], got \[4, 4, 1\]/,
    );
    assert.throws(
      () => sceneFeatureMaps(tf.zeros([4, 4, 3], 'int32') as tf.Tensor3D),
      /image: expected dtype float32, got int32/,
    );
  });
});

describe('centreSurround', () => {
  it('matches a hand computation with mirrored borders', () => {
    // cellSize 1, surround 3 x 3: C = |x - mean_3x3(x)|. With one 1 in the middle of a 3 x 3 map,
    // the centre gets |1 - 1/9| and a corner |0 - 1/9| (its mirrored window holds the 1 once).
    const x = tf.tensor3d([0, 0, 0, 0, 1, 0, 0, 0, 0], [3, 3, 1]);
    const c = centreSurround(x, { cellSize: 1, barLength: 1, surroundCells: 3 });
    const v = c.arraySync() as number[][][];
    assert.ok(Math.abs(v[1][1][0] - 8 / 9) < 1e-6, `centre ${v[1][1][0]}`);
    assert.ok(Math.abs(v[0][0][0] - 1 / 9) < 1e-6, `corner ${v[0][0][0]}`);
    // Edge (0, 1): mirrored rows [0, 0, 1] x columns [0, 1, 2] hold the 1 once.
    assert.ok(Math.abs(v[0][1][0] - 1 / 9) < 1e-6, `edge ${v[0][1][0]}`);
    expectTensorsClose(
      centreSurround(tf.ones([5, 5, 2]), { cellSize: 1, barLength: 1, surroundCells: 3 }),
      tf.zeros([5, 5, 2]),
    );
  });

  it('vanishes on a uniform texture, up to the image border', () => {
    const img = rasteriseScene(textureScene({ gridSize: 6, odd: [], seed: 1 }));
    const c = centreSurround(sceneFeatureMaps(img));
    const max = tf.max(c).dataSync()[0];
    assert.ok(max < 1e-5, `largest contrast on a uniform texture: ${max}`);
    tf.dispose([img, c]);
  });

  it('rejects a surround larger than the image allows', () => {
    assert.throws(
      () => centreSurround(tf.zeros([13, 13, 5]) as tf.Tensor3D),
      /window of 65 pixels: needs an image of at least 32 x 32 pixels, got 13 x 13/,
    );
    assert.throws(
      () => centreSurround(tf.zeros([40, 40, 5]) as tf.Tensor3D, { surroundCells: 4 }),
      /surroundCells: expected an odd number of cells, got 4/,
    );
  });
});

describe('normaliseMaps', () => {
  /** Five 5 x 5 maps (cellSize 1, so every pixel is a cell) with hand-placed peaks. */
  function handMaps(): tf.Tensor3D {
    const maps = Array.from({ length: 5 }, () => Array.from({ length: 5 }, () => [0, 0, 0, 0, 0]));
    maps[1][1][0] = 2; // one peak
    maps[0][0][1] = 1; // two equal peaks
    maps[4][4][1] = 1;
    maps[0][0][2] = 1; // a peak and a runner-up at half its height
    maps[4][4][2] = 0.5;
    // map 3 stays all zero
    maps[2][2][4] = 1; // a peak with a lower neighbour, which is not a competing peak
    maps[2][3][4] = 0.9;
    return tf.tensor3d(maps);
  }

  it('weights each map by (1 - runner-up / top peak)^2', () => {
    const { maps, weights } = normaliseMaps(handMaps(), { cellSize: 1, barLength: 1 });
    expectTensorsClose(weights, [1, 0, 0.25, 0, 1]);
    const v = maps.arraySync() as number[][][];
    assert.deepEqual(v[1][1], [1, 0, 0, 0, 0]); // map 0 scaled to a maximum of 1
    assert.ok(Math.abs(v[4][4][2] - 0.5 * 0.25) < 1e-6);
    assert.ok(Math.abs(v[2][3][4] - 0.9) < 1e-6);
    assert.ok(v.flat(2).every(Number.isFinite), 'the all-zero map must give zeros, not NaN');
  });

  it('finds peaks per cell: spill-over into the next cell is not a competitor', () => {
    // cellSize 3: the 6 x 6 map has 2 x 2 cells. A peak of 1 in cell (0, 0) and 0.8 just across
    // the border in cell (0, 1): neighbouring cells, the lower one is no local maximum.
    const x = tf.buffer([6, 6, 1]);
    x.set(1, 1, 2, 0);
    x.set(0.8, 1, 3, 0);
    const { weights } = normaliseMaps(x.toTensor() as tf.Tensor3D, { cellSize: 3, barLength: 1 });
    expectTensorsClose(weights, [1]);
  });

  it('does not leak and rejects maps smaller than a cell', async () => {
    const x = handMaps();
    await expectNoLeak(() =>
      tf.dispose(Object.values(normaliseMaps(x, { cellSize: 1, barLength: 1 }))),
    );
    assert.throws(
      () => normaliseMaps(tf.zeros([5, 5, 1]) as tf.Tensor3D),
      /contrast: expected at least one 13 x 13 cell, got \[5, 5, 1\]/,
    );
  });
});

describe('bottomUpSaliency', () => {
  for (const odd of [
    { colour: 'red', orientation: 'vertical' },
    { colour: 'green', orientation: 'horizontal' },
    { colour: 'blue', orientation: 'vertical' },
  ] as const) {
    it(`peaks at a single odd item (${odd.colour} ${odd.orientation} among green verticals)`, () => {
      const scene = textureScene({ gridSize: 6, odd: [{ ...odd, count: 1 }], seed: 4 });
      const item = scene.items.find(
        (it) => it.colour !== 'green' || it.orientation !== 'vertical',
      )!;
      const img = rasteriseScene(scene);
      const s = bottomUpSaliency(img);
      assert.deepEqual(s.shape, [6 * CELL, 6 * CELL]);
      assert.deepEqual(cellOf(argmax2d(s)), [item.row, item.col]);
      tf.dispose([img, s]);
    });
  }

  it('prefers a lone odd colour to an orientation shared by four items', () => {
    const scene = textureScene({
      gridSize: 8,
      odd: [
        { colour: 'red', orientation: 'vertical', count: 1 },
        { colour: 'green', orientation: 'horizontal', count: 4 },
      ],
      seed: 3,
    });
    const red = scene.items.find((it) => it.colour === 'red')!;
    const img = rasteriseScene(scene);
    const s = bottomUpSaliency(img);
    assert.deepEqual(cellOf(argmax2d(s)), [red.row, red.col]);
    tf.dispose([img, s]);
  });

  it('does not leak', async () => {
    const img = rasteriseScene(textureScene({ gridSize: 5, odd: [], seed: 1 }));
    await expectNoLeak(() => bottomUpSaliency(img).dispose());
    img.dispose();
  });
});

describe('featureQuery and topDownSaliency', () => {
  it('builds a query in the order of the features', () => {
    expectTensorsClose(featureQuery({ horizontal: 2, red: 1 }), [1, 0, 0, 0, 2]);
    assert.throws(
      () => featureQuery({ round: 1 } as never),
      /weights: expected features among red, green, blue, vertical, horizontal, got "round"/,
    );
    assert.throws(
      () => featureQuery({ red: NaN }),
      /weights\.red: expected a finite number, got NaN/,
    );
  });

  it('matches a hand computation at the centre of a horizontal bar', () => {
    // Horizontal bar: columns 2..10, rows 5..7. On the bar the vertical window sees 3/9; the
    // horizontal window sees 5/9, 6/9, 7/9, 8/9, 9/9, 8/9, 7/9, 6/9, 5/9 across the columns, so
    // the horizontal map sums to 3 * 34/9 over the bar, averaged over the 13 x 13 cell.
    const img = rasteriseScene(single('horizontal'));
    const t = topDownSaliency(img, featureQuery({ horizontal: 1 }));
    const v = t.arraySync() as number[][];
    assert.ok(Math.abs(v[6][6] - 34 / (3 * 169)) < 1e-6, `got ${v[6][6]}`);
    tf.dispose([img, t]);
  });

  it('highlights the items that match the query, and is linear in the query', () => {
    const scene = textureScene({
      gridSize: 6,
      odd: [
        { colour: 'red', orientation: 'vertical', count: 1 },
        { colour: 'green', orientation: 'horizontal', count: 3 },
      ],
      seed: 8,
    });
    const img = rasteriseScene(scene);
    const q1 = featureQuery({ horizontal: 1 });
    const q2 = featureQuery({ red: 0.5 });
    const t1 = topDownSaliency(img, q1);
    const centre = (it: { row: number; col: number }) =>
      t1.arraySync()[it.row * CELL + 6][it.col * CELL + 6];
    const horizontals = scene.items.filter((it) => it.orientation === 'horizontal');
    const verticals = scene.items.filter((it) => it.orientation === 'vertical');
    const max = tf.max(t1).dataSync()[0];
    for (const it of horizontals) assert.ok(Math.abs(centre(it) - max) < 1e-6);
    for (const it of verticals) assert.equal(centre(it), 0);
    expectTensorsClose(
      topDownSaliency(img, tf.add(q1, q2) as tf.Tensor1D),
      tf.add(t1, topDownSaliency(img, q2)),
    );
  });

  it('rejects a query of the wrong width and does not leak', async () => {
    const img = rasteriseScene(single('vertical'));
    assert.throws(
      () => topDownSaliency(img, tf.ones([3]) as tf.Tensor1D),
      /query: expected shape \[5\], got \[3\]/,
    );
    const q = featureQuery({ red: 1 });
    await expectNoLeak(() => topDownSaliency(img, q).dispose());
    tf.dispose([img, q]);
  });
});

describe('itemSaliency and itemMatch', () => {
  // Keys [red, green, blue, vertical, horizontal].
  const T = [1, 0, 0, 1, 0]; // red vertical (the target)
  const GV = [0, 1, 0, 1, 0];
  const RH = [1, 0, 0, 0, 1];

  it('pop-out (N = 4): the target scores 2 (2/3)^2, each distractor 2 (1/3) (2/3)^2', () => {
    // Colour maps: contrasts 1 (target) and 1/3 (distractors): weight (1 - 1/3)^2 = 4/9 each.
    // Orientation maps: every item vertical, contrast 0.
    const s = itemSaliency(tf.tensor2d([GV, T, GV, GV]));
    expectTensorsClose(s, [8 / 27, 8 / 9, 8 / 27, 8 / 27]);
  });

  it('conjunction with two distractors of each kind: every map suppressed, every item 0', () => {
    expectTensorsClose(itemSaliency(tf.tensor2d([RH, GV, T, RH, GV])), [0, 0, 0, 0, 0]);
  });

  it('conjunction with a lone red horizontal: that distractor pops out instead', () => {
    // Orientation maps: the red horizontal has contrast 1, the verticals 1/3; colour maps tie.
    expectTensorsClose(itemSaliency(tf.tensor2d([T, RH, GV, GV])), [8 / 27, 8 / 9, 8 / 27, 8 / 27]);
  });

  it('treats leading axes as a batch', () => {
    const a = tf.tensor2d([GV, T, GV, GV]);
    const b = tf.tensor2d([T, RH, GV, GV]);
    expectTensorsClose(
      itemSaliency(tf.stack([a, b])),
      tf.stack([itemSaliency(a), itemSaliency(b)]),
    );
  });

  it('itemMatch is the dot product of each key with the query', () => {
    const q = featureQuery({ red: 1, vertical: 0.5 });
    expectTensorsClose(itemMatch(tf.tensor2d([T, GV, RH]), q), [1.5, 0.5, 1]);
    expectTensorsClose(itemMatch(tf.tensor3d([[T], [RH]]), q), [[1.5], [1]]);
  });

  it('rejects fewer than 2 items and bad shapes, and does not leak', async () => {
    assert.throws(
      () => itemSaliency(tf.tensor2d([T])),
      /keys: expected at least 2 items \(N >= 2\) in \[\.\.\., N, F\], got \[1, 5\]/,
    );
    assert.throws(
      () => itemSaliency(tf.tensor1d(T)),
      /keys: expected shape \[\.\.\., N, F\], got \[5\]/,
    );
    assert.throws(
      () => itemMatch(tf.tensor2d([T]), tf.ones([4]) as tf.Tensor1D),
      /query: expected shape \[5\], got \[4\]/,
    );
    const k = tf.tensor3d([
      [T, GV, GV],
      [RH, T, GV],
    ]);
    const q = featureQuery({ red: 1 });
    await expectNoLeak(() => itemSaliency(k).dispose());
    await expectNoLeak(() => itemMatch(k, q).dispose());
    tf.dispose([k, q]);
  });
});
