import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  COLOUR_RGB,
  SCENE_FEATURES,
  checkScene,
  rasterSizes,
  rasteriseScene,
  sceneKeys,
  searchDisplay,
  textureScene,
  type Scene,
} from '../../src/data/scenes';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

const count = <T>(xs: T[], pred: (x: T) => boolean): number => xs.filter(pred).length;

describe('searchDisplay', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = searchDisplay({ kind: 'conjunction', setSize: 10, seed: 5 });
    assert.deepEqual(searchDisplay({ kind: 'conjunction', setSize: 10, seed: 5 }), a);
    assert.notDeepEqual(searchDisplay({ kind: 'conjunction', setSize: 10, seed: 6 }), a);
  });

  it('pop-out: one red vertical target among green vertical distractors, at distinct cells', () => {
    const d = searchDisplay({ kind: 'pop-out', setSize: 9, seed: 1 });
    assert.equal(d.items.length, 9);
    assert.equal(d.gridSize, 6);
    assert.deepEqual(
      [d.items[d.targetIndex].colour, d.items[d.targetIndex].orientation],
      ['red', 'vertical'],
    );
    assert.equal(
      count(d.items, (it) => it.colour === 'green' && it.orientation === 'vertical'),
      8,
    );
    assert.equal(new Set(d.items.map((it) => it.row * 6 + it.col)).size, 9);
  });

  it('conjunction: the target shares its colour with half the distractors and its orientation with the other half', () => {
    for (const [setSize, seed] of [
      [9, 2],
      [12, 3],
      [12, 4],
    ]) {
      const d = searchDisplay({ kind: 'conjunction', setSize, seed });
      const redH = count(d.items, (it) => it.colour === 'red' && it.orientation === 'horizontal');
      const greenV = count(d.items, (it) => it.colour === 'green' && it.orientation === 'vertical');
      const redV = count(d.items, (it) => it.colour === 'red' && it.orientation === 'vertical');
      assert.equal(redV, 1, 'only the target is red and vertical');
      assert.equal(redH + greenV, setSize - 1);
      assert.ok(Math.abs(redH - greenV) <= 1, `unbalanced distractors: ${redH} vs ${greenV}`);
      assert.equal(d.items[d.targetIndex].colour, 'red');
      assert.equal(d.items[d.targetIndex].orientation, 'vertical');
    }
  });

  it('without a target: N distractors and targetIndex -1', () => {
    for (const kind of ['pop-out', 'conjunction'] as const) {
      const d = searchDisplay({ kind, setSize: 7, targetPresent: false, seed: 3 });
      assert.equal(d.targetIndex, -1);
      assert.equal(d.items.length, 7);
      assert.equal(
        count(d.items, (it) => it.colour === 'red' && it.orientation === 'vertical'),
        0,
      );
    }
  });

  it('puts the target at varying list positions and cells', () => {
    const displays = Array.from({ length: 40 }, (_, s) =>
      searchDisplay({ kind: 'pop-out', setSize: 5, seed: s }),
    );
    assert.ok(new Set(displays.map((d) => d.targetIndex)).size >= 4);
    const cells = displays.map((d) => d.items[d.targetIndex].row * 6 + d.items[d.targetIndex].col);
    assert.ok(new Set(cells).size >= 15);
  });

  it('rejects bad options by name', () => {
    assert.throws(
      () => searchDisplay({ kind: 'odd' as never, setSize: 4, seed: 1 }),
      /kind: expected 'pop-out' or 'conjunction', got odd/,
    );
    assert.throws(
      () => searchDisplay({ kind: 'pop-out', setSize: 37, seed: 1 }),
      /setSize: expected an integer in \[2, 36\], got number 37/,
    );
    assert.throws(
      () => searchDisplay({ kind: 'pop-out', setSize: 1, seed: 1 }),
      /setSize: expected an integer in \[2, 36\]/,
    );
    assert.throws(
      () => searchDisplay({ kind: 'pop-out', setSize: 4, seed: 1.5 }),
      /seed: expected an integer/,
    );
  });
});

describe('textureScene', () => {
  it('fills every cell row by row, with the odd items at random cells', () => {
    const s = textureScene({
      gridSize: 5,
      odd: [
        { colour: 'red', orientation: 'vertical', count: 1 },
        { colour: 'green', orientation: 'horizontal', count: 3 },
      ],
      seed: 2,
    });
    assert.equal(s.items.length, 25);
    s.items.forEach((it, i) => assert.deepEqual([it.row, it.col], [Math.floor(i / 5), i % 5]));
    assert.equal(
      count(s.items, (it) => it.colour === 'red'),
      1,
    );
    assert.equal(
      count(s.items, (it) => it.orientation === 'horizontal'),
      3,
    );
    assert.equal(
      count(s.items, (it) => it.colour === 'green' && it.orientation === 'vertical'),
      21,
    );
    assert.equal(s.targetIndex, -1);
  });

  it('rejects more odd items than cells, and unknown looks', () => {
    assert.throws(
      () =>
        textureScene({
          gridSize: 2,
          odd: [{ colour: 'red', orientation: 'vertical', count: 5 }],
          seed: 1,
        }),
      /odd: expected at most gridSize\^2 = 4 odd items, got 5/,
    );
    assert.throws(
      () =>
        textureScene({
          odd: [{ colour: 'pink' as never, orientation: 'vertical', count: 1 }],
          seed: 1,
        }),
      /odd\[0\]\.colour: expected one of red, green, blue, got pink/,
    );
  });
});

describe('rasteriseScene', () => {
  const one = (orientation: 'vertical' | 'horizontal'): Scene => ({
    gridSize: 1,
    items: [{ row: 0, col: 0, colour: 'red', orientation }],
    targetIndex: 0,
  });

  it('draws a vertical bar of barWidth x barLength pixels centred in its cell', () => {
    const img = rasteriseScene(one('vertical'), { cellSize: 5, barLength: 3, barWidth: 1 });
    assert.deepEqual(img.shape, [5, 5, 3]);
    const red = (img.arraySync() as number[][][]).map((row) => row.map((px) => px[0]));
    assert.deepEqual(red, [
      [0, 0, 0, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 0, 0, 0],
    ]);
    expectTensorsClose(img.slice([2, 2, 0], [1, 1, 3]).reshape([3]), [...COLOUR_RGB.red]);
    img.dispose();
  });

  it('draws a horizontal bar as the transpose, and places items by row and column', () => {
    const v = rasteriseScene(one('vertical'));
    const h = rasteriseScene(one('horizontal'));
    expectTensorsClose(h, tf.transpose(v, [1, 0, 2]));
    const two: Scene = {
      gridSize: 2,
      items: [
        { row: 0, col: 1, colour: 'green', orientation: 'vertical' },
        { row: 1, col: 0, colour: 'blue', orientation: 'horizontal' },
      ],
      targetIndex: -1,
    };
    const img = rasteriseScene(two, { cellSize: 5, barLength: 3, barWidth: 1 });
    assert.deepEqual(img.shape, [10, 10, 3]);
    const px = img.arraySync() as number[][][];
    assert.deepEqual(px[2][7], [...Float32Array.from(COLOUR_RGB.green)]); // centre of cell (0, 1)
    assert.deepEqual(px[7][1], [...Float32Array.from(COLOUR_RGB.blue)]); // left end of the bar in cell (1, 0)
    assert.deepEqual(px[2][2], [0, 0, 0]); // empty cell (0, 0)
    // Two bars of 3 pixels each, nothing else.
    const lit = px.flat().filter((p) => p.some((c) => c > 0)).length;
    assert.equal(lit, 6);
  });

  it('leaks nothing and rejects even sizes and bad scenes', async () => {
    await expectNoLeak(() => rasteriseScene(one('vertical')).dispose(), 'rasteriseScene');
    await expectNoLeak(() => sceneKeys(one('vertical')).dispose(), 'sceneKeys');
    assert.throws(
      () => rasterSizes({ cellSize: 12 }),
      /cellSize: expected an odd number of pixels, got 12/,
    );
    assert.throws(
      () => rasterSizes({ cellSize: 7, barLength: 9 }),
      /barLength: expected an integer in \[1, 7\], got number 9/,
    );
    const twice: Scene = {
      gridSize: 2,
      items: [
        { row: 0, col: 0, colour: 'red', orientation: 'vertical' },
        { row: 0, col: 0, colour: 'red', orientation: 'vertical' },
      ],
      targetIndex: 0,
    };
    assert.throws(() => checkScene(twice), /scene\.items\[1\]: expected one item per cell/);
    assert.throws(
      () =>
        rasteriseScene({
          gridSize: 2,
          items: [{ row: 2, col: 0, colour: 'red', orientation: 'vertical' }],
          targetIndex: 0,
        }),
      /scene\.items\[0\]\.row: expected an integer in \[0, 1\], got number 2/,
    );
  });
});

describe('sceneKeys', () => {
  it('gives each item a one-hot colour and a one-hot orientation', () => {
    assert.deepEqual([...SCENE_FEATURES], ['red', 'green', 'blue', 'vertical', 'horizontal']);
    const scene: Scene = {
      gridSize: 2,
      items: [
        { row: 0, col: 0, colour: 'red', orientation: 'horizontal' },
        { row: 1, col: 1, colour: 'blue', orientation: 'vertical' },
      ],
      targetIndex: -1,
    };
    const keys = sceneKeys(scene);
    expectTensorsClose(keys, [
      [1, 0, 0, 0, 1],
      [0, 0, 1, 1, 0],
    ]);
    keys.dispose();
  });
});
