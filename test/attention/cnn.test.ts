import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  ChannelAttention,
  SpatialAttention,
  channelAttention,
  channelPool,
  spatialAttention,
} from '../../src/attention/cnn';
import {
  checkGradients,
  checkVariableGradients,
  expectNoLeak,
  expectTensorsClose,
} from '../helpers/tensors';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('channelPool', () => {
  it('takes the mean and the max over channels at every pixel', () => {
    const f = tf.tensor4d([
      [
        [
          [1, 2, 6],
          [-3, 0, 0],
        ],
      ],
    ]); // [1, 1, 2, 3]
    expectTensorsClose(channelPool(f), [
      [
        [
          [3, 6],
          [-1, 0],
        ],
      ],
    ]);
  });
});

describe('spatialAttention (hand-computed)', () => {
  it('with a 1 x 1 kernel is sigmoid(a mean + b max + bias) per pixel', () => {
    const f = tf.tensor4d([
      [
        [
          [1, 2, 6],
          [-3, 0, 0],
        ],
      ],
    ]); // means 3, -1; maxes 6, 0
    const kernel = tf.tensor4d([[[[0.5], [-0.25]]]]); // [1, 1, 2, 1]: a = 0.5, b = -0.25
    const { map, output } = spatialAttention(f, { kernel, bias: tf.tensor1d([0.1]) });
    const m0 = sigmoid(0.5 * 3 - 0.25 * 6 + 0.1);
    const m1 = sigmoid(0.5 * -1 - 0.25 * 0 + 0.1);
    expectTensorsClose(map, [[[[m0], [m1]]]]);
    expectTensorsClose(output, [
      [
        [
          [m0, 2 * m0, 6 * m0],
          [-3 * m1, 0, 0],
        ],
      ],
    ]);
  });

  it('a 3 x 3 kernel sums the neighbourhood, with zeros beyond the border', () => {
    // One channel, a single 1 in the top-left corner: pooled mean = max = that image.
    const f = tf.tensor4d(
      [
        [1, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
      ].flat(),
      [1, 3, 3, 1],
    );
    // Ones on the mean channel, zeros on the max channel: logits = 3 x 3 sums of the image.
    const kernel = tf.tidy(() => tf.concat([tf.ones([3, 3, 1, 1]), tf.zeros([3, 3, 1, 1])], 2));
    const { map } = spatialAttention(f, { kernel });
    const [a, b] = [sigmoid(1), sigmoid(0)];
    expectTensorsClose(map.reshape([3, 3]), [
      [a, a, b],
      [a, a, b],
      [b, b, b],
    ]);
  });
});

describe('channelAttention (hand-computed)', () => {
  it('squeezes by the spatial mean, excites through two layers, rescales each channel', () => {
    // [1, 1, 2, 2]: channel means z = [(1 + 3) / 2, (2 - 2) / 2] = [2, 0]
    const f = tf.tensor4d([
      [
        [
          [1, 2],
          [3, -2],
        ],
      ],
    ]);
    const w1 = tf.tensor2d([[1], [1]]); // [C = 2, R = 1]
    const b1 = tf.tensor1d([-1]);
    const w2 = tf.tensor2d([[2, -2]]); // [R = 1, C = 2]
    const b2 = tf.tensor1d([0, 1]);
    // h = relu(2 + 0 - 1) = 1; s = sigmoid([2, -2 + 1])
    const [s0, s1] = [sigmoid(2), sigmoid(-1)];
    const { weights, output } = channelAttention(f, { w1, b1, w2, b2 });
    expectTensorsClose(weights, [[s0, s1]]);
    expectTensorsClose(output, [
      [
        [
          [s0, 2 * s1],
          [3 * s0, -2 * s1],
        ],
      ],
    ]);
    // ReLU clips a negative hidden unit: with b1 = -3, h = 0 and s = sigmoid(b2).
    const clipped = channelAttention(f, { w1, b1: tf.tensor1d([-3]), w2, b2 });
    expectTensorsClose(clipped.weights, [[0.5, sigmoid(1)]]);
  });

  it('gives each image of a batch its own weights', () => {
    const f = tf.tensor4d([[[[1, 0]]], [[[0, 1]]]]); // [2, 1, 1, 2]
    const eye = tf.eye(2);
    const { weights } = channelAttention(f, { w1: eye, w2: eye });
    expectTensorsClose(weights, [
      [sigmoid(1), 0.5],
      [0.5, sigmoid(1)],
    ]);
  });
});

describe('CNN attention: finite-difference gradients', () => {
  it('spatialAttention: d / d (features, kernel, bias)', () => {
    // Channel values far apart, so that a step of 1e-2 never changes which channel is the max.
    const f = tf.tidy(() =>
      tf.add(tf.randomNormal([1, 3, 3, 2], 0, 0.3, 'float32', 1), tf.tensor1d([0, 2])),
    );
    const kernel = tf.randomNormal([3, 3, 2, 1], 0, 0.5, 'float32', 2);
    const bias = tf.tensor1d([0.2]);
    const up = tf.randomNormal([1, 3, 3, 2], 0, 1, 'float32', 3);
    checkGradients(
      (x, k, b) => tf.sum(tf.mul(spatialAttention(x, { kernel: k, bias: b }).output, up)),
      [f, kernel, bias],
    );
  });

  it('channelAttention: d / d (features, w1, b1, w2, b2)', () => {
    const f = tf.randomNormal([2, 2, 2, 3], 0, 1, 'float32', 4);
    const w1 = tf.randomNormal([3, 2], 0, 1, 'float32', 5);
    const b1 = tf.tensor1d([0.3, 0.4]); // keeps both hidden units away from the ReLU kink
    const w2 = tf.randomNormal([2, 3], 0, 1, 'float32', 6);
    const b2 = tf.tensor1d([0.1, -0.2, 0.3]);
    const up = tf.randomNormal([2, 2, 2, 3], 0, 1, 'float32', 7);
    checkGradients(
      (x, a, b, c, d) =>
        tf.sum(tf.mul(channelAttention(x, { w1: a, b1: b, w2: c, b2: d }).output, up)),
      [f, w1, b1, w2, b2],
    );
  });

  it('the layers: d / d parameters', () => {
    const f = tf.tidy(() =>
      tf.add(tf.randomNormal([1, 4, 4, 2], 0, 0.3, 'float32', 8), tf.tensor1d([0, 2])),
    );
    const sa = new SpatialAttention({ kernelSize: 3, seed: 1 });
    const se = new ChannelAttention({ channels: 2, reduction: 1, seed: 2 });
    se.fc1.setWeights(
      tf.tensor2d([
        [1, 0.5],
        [0.2, 1],
      ]),
      tf.tensor1d([0.1, 0.1]),
    );
    checkVariableGradients(
      () => tf.sum(tf.square(sa.apply(f).output)) as tf.Scalar,
      sa.variables(),
    );
    checkVariableGradients(
      () => tf.sum(tf.square(se.apply(f).output)) as tf.Scalar,
      se.variables(),
    );
    sa.dispose();
    se.dispose();
  });
});

describe('SpatialAttention and ChannelAttention layers', () => {
  it('have the documented shapes and parameter counts, and are seeded', () => {
    const f = tf.randomNormal([2, 5, 6, 4], 0, 1, 'float32', 9);
    const sa = new SpatialAttention({ seed: 3 });
    assert.equal(sa.numParameters(), 7 * 7 * 2 + 1);
    const r = sa.apply(f);
    assert.deepEqual(r.map.shape, [2, 5, 6, 1]);
    assert.deepEqual(r.output.shape, [2, 5, 6, 4]);
    const se = new ChannelAttention({ channels: 4, reduction: 2, seed: 3 });
    assert.equal(se.hidden, 2);
    assert.equal(se.numParameters(), 4 * 2 + 2 + 2 * 4 + 4);
    const c = se.apply(f);
    assert.deepEqual(c.weights.shape, [2, 4]);
    assert.deepEqual(c.output.shape, [2, 5, 6, 4]);
    const w = c.weights.dataSync();
    assert.ok(w.every((v) => v > 0 && v < 1));
    // Same seed, same weights; another seed, other weights.
    const again = new SpatialAttention({ seed: 3 });
    const other = new SpatialAttention({ seed: 4 });
    expectTensorsClose(again.kernel, sa.kernel);
    assert.ok(Math.abs(other.kernel.dataSync()[0] - sa.kernel.dataSync()[0]) > 0);
    [sa, se, again, other].forEach((m) => m.dispose());
  });

  it('equal the pure functions with the same weights', () => {
    const f = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 10);
    const sa = new SpatialAttention({ kernelSize: 3 });
    const kernel = tf.randomNormal([3, 3, 2, 1], 0, 1, 'float32', 11);
    sa.setWeights(kernel, tf.tensor1d([0.5]));
    expectTensorsClose(
      sa.apply(f).map,
      spatialAttention(f, { kernel, bias: tf.tensor1d([0.5]) }).map,
    );
    const se = new ChannelAttention({ channels: 3, reduction: 3, seed: 1 });
    expectTensorsClose(
      se.apply(f).weights,
      channelAttention(f, {
        w1: se.fc1.weight,
        b1: se.fc1.bias!,
        w2: se.fc2.weight,
        b2: se.fc2.bias!,
      }).weights,
    );
    sa.dispose();
    se.dispose();
  });

  it('do not leak tensors, forward or backward', async () => {
    const f = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 12);
    const sa = new SpatialAttention({ kernelSize: 3 });
    const se = new ChannelAttention({ channels: 3 });
    await expectNoLeak(() => {
      for (const layer of [sa, se]) {
        const r = layer.apply(f);
        tf.dispose(Object.values(r));
        const { value, grads } = tf.variableGrads(
          () => tf.sum(layer.apply(f).output) as tf.Scalar,
          layer.variables(),
        );
        value.dispose();
        tf.dispose(grads);
      }
      tf.dispose(channelPool(f));
    });
    await expectNoLeak(() => {
      const m = new SpatialAttention();
      m.dispose();
    }, 'constructor');
    sa.dispose();
    se.dispose();
  });
});

describe('CNN attention: errors', () => {
  let f: tf.Tensor;
  before(() => {
    f = tf.zeros([2, 4, 4, 3]);
  });
  const errors: [string, () => unknown, RegExp][] = [
    [
      'features without a batch axis',
      () => channelPool(tf.zeros([4, 4, 3])),
      /features: expected rank 4 \[B, Hi, Wi, C\], got rank 3 with shape \[4, 4, 3\]/,
    ],
    [
      'int features',
      () => channelPool(tf.zeros([1, 2, 2, 1], 'int32')),
      /features: expected dtype float32, got int32/,
    ],
    [
      'NaN features',
      () => channelPool(tf.fill([1, 2, 2, 1], NaN)),
      /features: expected finite values, got NaN/,
    ],
    [
      'an even kernel',
      () => spatialAttention(f, { kernel: tf.zeros([2, 2, 2, 1]) }),
      /kernel: expected an odd size k in \[k, k, 2, 1\].*got k = 2/,
    ],
    [
      'a kernel over 3 pooled channels',
      () => spatialAttention(f, { kernel: tf.zeros([3, 3, 3, 1]) }),
      /kernel: expected shape \[k, k, 2, 1\], got \[3, 3, 3, 1\]/,
    ],
    [
      'a non-square kernel',
      () => spatialAttention(f, { kernel: tf.zeros([3, 5, 2, 1]) }),
      /kernel: expected shape \[k, k, 2, 1\] with k = 3 \(from kernel\), got \[3, 5, 2, 1\]/,
    ],
    [
      'a bias of the wrong shape',
      () => spatialAttention(f, { kernel: tf.zeros([3, 3, 2, 1]), bias: tf.zeros([2]) }),
      /bias: expected shape \[1\], got \[2\]/,
    ],
    [
      'w1 for another number of channels',
      () => channelAttention(f, { w1: tf.zeros([4, 2]), w2: tf.zeros([2, 3]) }),
      /w1: expected shape \[C, R\] with C = 3 \(from features\), got \[4, 2\]/,
    ],
    [
      'w2 of another hidden width',
      () => channelAttention(f, { w1: tf.zeros([3, 2]), w2: tf.zeros([1, 3]) }),
      /w2: expected shape \[R, C\] with R = 2 \(from w1\), got \[1, 3\]/,
    ],
    [
      'a b2 of the wrong length',
      () => channelAttention(f, { w1: tf.zeros([3, 2]), w2: tf.zeros([2, 3]), b2: tf.zeros([2]) }),
      /b2: expected shape \[C\] with C = 3 \(from features\), got \[2\]/,
    ],
    [
      'missing weights',
      () => channelAttention(f, undefined as never),
      /weights: expected \{ w1: \[C, R\]/,
    ],
    [
      'an even kernelSize',
      () => new SpatialAttention({ kernelSize: 4 }),
      /kernelSize: expected an odd integer, got 4/,
    ],
    [
      'zero channels',
      () => new ChannelAttention({ channels: 0 }),
      /channels: expected an integer >= 1, got number 0/,
    ],
    [
      'a kernel of the wrong size for the layer',
      () => new SpatialAttention({ kernelSize: 3 }).setWeights(tf.zeros([5, 5, 2, 1])),
      /kernel: expected shape \[3, 3, 2, 1\], got \[5, 5, 2, 1\]/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what} with a clear message`, () => assert.throws(thunk, message));
  }
});
