import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { HeatmapPanel, ImagePanel, LinesPanel } from '../../src/viz/figure';
import { figureBundle } from '../../src/viz/figure';
import {
  attentionHeatmap,
  headGrid,
  imageOverlay,
  lineChart,
  upsampleNearest,
} from '../../src/viz/figures';

/** Runs `fn` on tensors made beforehand and asserts it leaves the tensor count unchanged. */
function noNewTensors<T>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = fn();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  return out;
}

function close(actual: number[][], expected: number[][]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((row, i) =>
    row.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) < 1e-6, `[${i}][${j}] ${v}`)),
  );
}

describe('attentionHeatmap', () => {
  it('reads a [T, S] tensor without leaking and labels the axes', () => {
    const weights = tf.tensor2d([
      [0.7, 0.2, 0.1],
      [0.1, 0.1, 0.8],
    ]);
    const fig = noNewTensors(() =>
      attentionHeatmap(weights, { queries: ['je', 'suis'], keys: ['I', 'am', '<eos>'] }),
    );
    weights.dispose();
    const p = fig.panels[0] as HeatmapPanel;
    assert.equal(p.kind, 'heatmap');
    close(p.z, [
      [0.7, 0.2, 0.1],
      [0.1, 0.1, 0.8],
    ]);
    assert.deepEqual(p.yLabels, ['je', 'suis']);
    assert.deepEqual(p.xLabels, ['I', 'am', '<eos>']);
    assert.equal(p.zmin, 0);
    assert.equal(p.zmax, 1);
    assert.equal(p.xTitle, 'keys');
    assert.equal(p.yTitle, 'queries');
  });

  it('also renders without leaking (the whole bundle)', () => {
    const weights = tf.tensor2d([[0.5, 0.5]]);
    noNewTensors(() => figureBundle(attentionHeatmap(weights, { title: 'w' })));
    weights.dispose();
  });

  it('shows batch element batchIndex of [B, T, S] weights, tensors or arrays, without leaking', () => {
    const batch = [
      [
        [1, 0],
        [0, 1],
      ],
      [
        [0.25, 0.75],
        [0.5, 0.5],
      ],
    ];
    const weights = tf.tensor3d(batch);
    const fig = noNewTensors(() => attentionHeatmap(weights, { batchIndex: 1, keys: ['a', 'b'] }));
    weights.dispose();
    close((fig.panels[0] as HeatmapPanel).z, batch[1]);
    close((attentionHeatmap(batch).panels[0] as HeatmapPanel).z, batch[0]);
  });

  it('accepts plain arrays and custom titles and range', () => {
    const fig = attentionHeatmap([[1, -1]], { xTitle: 'source', yTitle: 'target', zmin: -1 });
    const p = fig.panels[0] as HeatmapPanel;
    assert.deepEqual([p.xTitle, p.yTitle, p.zmin, p.zmax], ['source', 'target', -1, 1]);
  });

  const errors: [string, () => unknown, RegExp][] = [
    [
      'a rank-4 tensor',
      () => attentionHeatmap(tf.zeros([1, 2, 3, 4])),
      /weights: expected shape \[T, S\] or \[B, T, S\], got \[1, 2, 3, 4\]/,
    ],
    [
      'a batch index past the batch',
      () => attentionHeatmap(tf.zeros([2, 3, 4]), { batchIndex: 2 }),
      /batchIndex/,
    ],
    [
      'a batch index for weights without a batch axis',
      () => attentionHeatmap([[1, 0]], { batchIndex: 1 }),
      /batchIndex: weights \[1, 2\] have no batch axis \(expected \[B, T, S\]\), got batchIndex 1/,
    ],
    [
      'a wrong number of query labels',
      () => attentionHeatmap(tf.zeros([2, 3]) as tf.Tensor2D, { queries: ['a', 'b', 'c'] }),
      /queries: expected 2 labels \(T, one per row of weights\), got 3/,
    ],
    [
      'a wrong number of key labels',
      () => attentionHeatmap([[1, 2, 3]], { keys: ['a'] }),
      /keys: expected 3 labels \(S, one per column of weights\), got 1/,
    ],
    [
      'a ragged array',
      () => attentionHeatmap([[1, 2], [3]]),
      /weights: expected a rectangular array \[T, S\] or \[B, T, S\] of shape \[2, 2\], got an array of length 1 at weights\[1\]/,
    ],
    [
      'a flat array',
      () => attentionHeatmap([1, 2] as unknown as number[][]),
      /weights: expected shape \[T, S\] or \[B, T, S\], got \[2\]/,
    ],
    [
      'undefined',
      () => attentionHeatmap(undefined as unknown as number[][]),
      /weights: expected a tf\.Tensor/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what}`, () => assert.throws(thunk, message));
  }
});

describe('lineChart', () => {
  it('turns named arrays into series over steps 0..n-1', () => {
    const fig = lineChart({ train: [3, 2, 1], val: Float32Array.of(4, 3) }, { yTitle: 'loss' });
    const p = fig.panels[0] as LinesPanel;
    assert.equal(p.kind, 'lines');
    assert.equal(p.xTitle, 'step');
    assert.equal(p.yTitle, 'loss');
    assert.deepEqual(p.series, [
      { name: 'train', x: [0, 1, 2], y: [3, 2, 1] },
      { name: 'val', x: [0, 1], y: [4, 3] },
    ]);
  });

  it('takes explicit x, modes and a log axis', () => {
    const fig = lineChart([{ name: 'val', x: [1, 5], y: [0.5, 0.25], mode: 'lines+markers' }], {
      xTitle: 'epoch',
      logY: true,
      title: 'loss',
    });
    const p = fig.panels[0] as LinesPanel;
    assert.deepEqual(p.series[0], {
      name: 'val',
      x: [1, 5],
      y: [0.5, 0.25],
      mode: 'lines+markers',
    });
    assert.deepEqual([p.xTitle, p.logY, p.title], ['epoch', true, 'loss']);
  });

  it('rejects x and y of different lengths and an empty chart', () => {
    assert.throws(
      () => lineChart([{ name: 'acc', x: [0, 1, 2], y: [1, 2] }]),
      /series "acc" x and y of equal length, got 3 x and 2 y/,
    );
    assert.throws(() => lineChart({}), /expected at least one series/);
  });
});

describe('headGrid', () => {
  it('shows one heatmap per head of a [H, T, S] tensor on a shared scale', () => {
    const w = tf.tidy(() => tf.softmax(tf.randomNormal([6, 2, 3]))) as tf.Tensor3D;
    const values = w.arraySync() as number[][][];
    const fig = noNewTensors(() => headGrid(w, { queries: ['a', 'b'], title: 'heads' }));
    w.dispose();
    assert.equal(fig.panels.length, 6);
    assert.equal(fig.columns, 4);
    assert.equal(fig.title, 'heads');
    (fig.panels as HeatmapPanel[]).forEach((p, h) => {
      assert.equal(p.title, `head ${h + 1}`);
      assert.deepEqual([p.zmin, p.zmax], [0, 1]);
      assert.deepEqual(p.yLabels, ['a', 'b']);
      close(p.z, values[h]);
    });
  });

  it('picks batch element batchIndex of a [B, H, T, S] tensor', () => {
    // Element b of head h holds 10 b + h everywhere.
    const w = tf.tidy(() =>
      tf.add(tf.reshape(tf.tensor1d([0, 1, 10, 11]), [2, 2, 1, 1]), tf.zeros([2, 2, 3, 4])),
    ) as tf.Tensor4D;
    const fig = noNewTensors(() => headGrid(w, { batchIndex: 1, zmax: 20, columns: 1 }));
    const first = noNewTensors(() => headGrid(w));
    w.dispose();
    const panels = fig.panels as HeatmapPanel[];
    assert.equal(panels.length, 2);
    assert.equal(fig.columns, 1);
    assert.deepEqual(panels[0].z, [
      [10, 10, 10, 10],
      [10, 10, 10, 10],
      [10, 10, 10, 10],
    ]);
    assert.equal(panels[1].z[2][3], 11);
    assert.equal(panels[1].zmax, 20);
    assert.equal((first.panels[1] as HeatmapPanel).z[0][0], 1, 'batch element 0 by default');
  });

  it('accepts nested arrays', () => {
    const fig = headGrid([[[1]], [[0]]]);
    assert.deepEqual(
      fig.panels.map((p) => (p as HeatmapPanel).z),
      [[[1]], [[0]]],
    );
  });

  const errors: [string, () => unknown, RegExp][] = [
    [
      'a batch index out of range',
      () => headGrid(tf.zeros([2, 1, 2, 2]) as tf.Tensor4D, { batchIndex: 2 }),
      /batchIndex: expected an integer in \[0, 1\], got number 2/,
    ],
    [
      'a batch index without a batch axis',
      () => headGrid(tf.zeros([1, 2, 2]) as tf.Tensor3D, { batchIndex: 1 }),
      /batchIndex: weights \[1, 2, 2\] have no batch axis \(expected \[B, H, T, S\]\), got batchIndex 1/,
    ],
    [
      'a [T, S] matrix',
      () => headGrid(tf.zeros([2, 2]) as unknown as tf.Tensor3D),
      /weights: expected shape \[H, T, S\] or \[B, H, T, S\], got \[2, 2\]/,
    ],
    [
      'wrong key labels',
      () => headGrid([[[1, 2]]], { keys: ['x'] }),
      /keys: expected 2 labels \(S, one per key column\), got 1/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what}`, () => assert.throws(thunk, message));
  }
});

describe('upsampleNearest', () => {
  it('repeats each value over its block', () => {
    assert.deepEqual(
      upsampleNearest(
        [
          [1, 2],
          [3, 4],
        ],
        4,
        4,
      ),
      [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [3, 3, 4, 4],
        [3, 3, 4, 4],
      ],
    );
  });

  it('takes the cell under each output centre when sizes do not divide', () => {
    // Output centres 0.5, 1.5, 2.5 of 3 map to 0.33, 1, 1.67 of 2: cells 0, 1, 1.
    assert.deepEqual(upsampleNearest([[1, 2]], 1, 3), [[1, 2, 2]]);
    // Shrinking works too: centres 0.5, 1.5 of 2 map to 1, 3 of 4.
    assert.deepEqual(upsampleNearest([[1, 2, 3, 4]], 1, 2), [[2, 4]]);
  });
});

describe('imageOverlay', () => {
  it('upsamples patch attention to the image and rescales 0..255 images', () => {
    const image = [
      [0, 51, 102, 255],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ];
    const fig = imageOverlay(image, [
      [0.1, 0.2],
      [0.3, 0.4],
    ]);
    const p = fig.panels[0] as ImagePanel;
    close(p.pixels as number[][], [
      [0, 0.2, 0.4, 1],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    assert.deepEqual(p.overlay?.z, [
      [0.1, 0.1, 0.2, 0.2],
      [0.1, 0.1, 0.2, 0.2],
      [0.3, 0.3, 0.4, 0.4],
      [0.3, 0.3, 0.4, 0.4],
    ]);
    assert.equal(p.overlay?.opacity, 0.5);
  });

  it('keeps [0, 1] images as they are and reads RGB tensors without leaking', () => {
    const image = tf.tidy(() => tf.fill([2, 2, 3], 0.25));
    const att = tf.tensor2d([[1]]);
    const fig = noNewTensors(() => imageOverlay(image, att, { opacity: 0.8, title: 'cat' }));
    tf.dispose([image, att]);
    const p = fig.panels[0] as ImagePanel;
    assert.deepEqual(p.pixels, [
      [
        [0.25, 0.25, 0.25],
        [0.25, 0.25, 0.25],
      ],
      [
        [0.25, 0.25, 0.25],
        [0.25, 0.25, 0.25],
      ],
    ]);
    assert.deepEqual(p.overlay?.z, [
      [1, 1],
      [1, 1],
    ]);
    assert.equal(p.overlay?.opacity, 0.8);
    assert.equal(p.title, 'cat');
  });

  it('treats [Hi, Wi, 1] as grey', () => {
    const p = imageOverlay([[[0.5], [1]]], [[1]]).panels[0] as ImagePanel;
    assert.deepEqual(p.pixels, [[0.5, 1]]);
  });

  const errors: [string, () => unknown, RegExp][] = [
    [
      'two channels',
      () => imageOverlay(tf.zeros([2, 2, 2]), [[1]]),
      /image: expected 1 or 3 channels in \[Hi, Wi, C\], got \[2, 2, 2\]/,
    ],
    [
      'a rank-3 attention map',
      () => imageOverlay([[0]], tf.zeros([1, 1, 1]) as unknown as tf.Tensor2D),
      /attention: expected shape \[Gh, Gw\], got \[1, 1, 1\]/,
    ],
    [
      'an opacity above 1',
      () => imageOverlay([[0]], [[1]], { opacity: 1.5 }),
      /opacity: expected a number in \[0, 1\], got 1\.5/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what}`, () => assert.throws(thunk, message));
  }
});
