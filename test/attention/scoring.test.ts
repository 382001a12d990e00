import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attentionPooling, scaledDotProductAttention } from '../../src/attention/pooling';
import {
  AdditiveAttention,
  DotProductAttention,
  LuongConcatAttention,
  LuongGeneralAttention,
  ScoredAttention,
  additiveScores,
  dotScores,
  scaledDotScores,
} from '../../src/attention/scoring';
import {
  expectFixtureGrads,
  fixture,
  fixtureNames,
  ft,
  gradsOfWeightedSum,
} from '../helpers/fixtures';
import {
  checkGradients,
  checkVariableGradients,
  expectNoLeak,
  expectTensorsClose,
} from '../helpers/tensors';

describe('attention pooling (hand-computed)', () => {
  let value: tf.Tensor;
  before(() => {
    value = tf.tensor3d([
      [
        [1, 10],
        [2, 20],
        [3, 30],
        [4, 40],
      ],
    ]); // [1, 4, 2]
  });

  it('identical keys give the mean of the values', () => {
    const key = tf.ones([1, 4, 3]);
    const query = tf.tensor3d([[[0.3, -1, 2]]]);
    const { output, weights } = scaledDotProductAttention(query, key, value);
    expectTensorsClose(weights, [[[0.25, 0.25, 0.25, 0.25]]]);
    expectTensorsClose(output, [[[2.5, 25]]], { atol: 1e-5 });
  });

  it('a one-hot score selects one value', () => {
    const scores = tf.tensor3d([[[0, 0, 100, 0]]]);
    const { output, weights } = attentionPooling(scores, value);
    expectTensorsClose(weights, [[[0, 0, 1, 0]]], { atol: 1e-6 });
    expectTensorsClose(output, [[[3, 30]]], { atol: 1e-4 });
  });

  it('valid lengths average only the first keys', () => {
    const { output } = attentionPooling(tf.zeros([1, 1, 4]), value, {
      validLens: tf.tensor1d([2], 'int32'),
    });
    expectTensorsClose(output, [[[1.5, 15]]]);
  });

  it('dot scores are plain dot products; scaled ones divide by sqrt(D)', () => {
    const query = tf.tensor3d([[[1, 2, 3, 4]]]);
    const key = tf.tensor3d([
      [
        [1, 0, 0, 0],
        [1, 1, 1, 1],
      ],
    ]);
    expectTensorsClose(dotScores(query, key), [[[1, 10]]]);
    expectTensorsClose(scaledDotScores(query, key), [[[0.5, 5]]]);
  });
});

describe('scoring functions match PyTorch', () => {
  for (const name of [...fixtureNames('scaled_dot'), ...fixtureNames('dot')]) {
    it(`${name}: scores, weights, output and gradients`, () => {
      const c = fixture(name);
      const [query, key, value] = ['query', 'key', 'value'].map((n) =>
        tf.variable(ft(c.inputs![n])),
      );
      const validLens = c.inputs!.validLens ? ft(c.inputs!.validLens) : undefined;
      const layer = new DotProductAttention(c.config!.scaled as boolean);
      const run = () => layer.apply(query, key, value, { validLens });
      expectTensorsClose(layer.score(query, key), c.outputs.scores, { label: 'scores' });
      expectTensorsClose(run().weights, c.outputs.weights, { label: 'weights' });
      expectTensorsClose(run().output, c.outputs.output, { label: 'output' });
      if (c.config!.scaled) {
        expectTensorsClose(
          scaledDotProductAttention(query, key, value, { validLens }).output,
          c.outputs.output,
          { label: 'function output' },
        );
      }
      const g = gradsOfWeightedSum(() => run().output, c.upstream!, { query, key, value });
      expectFixtureGrads(g, c);
    });
  }

  /** A layer built for a fixture case, and its variables under the fixture's parameter names. */
  type Loaded = { layer: ScoredAttention; params: Record<string, tf.Variable> };
  const layers: [string, (c: ReturnType<typeof fixture>) => Loaded][] = [
    ...fixtureNames('additive').map((name): [string, (c: ReturnType<typeof fixture>) => Loaded] => [
      name,
      (c) => {
        const layer = new AdditiveAttention({ queryDim: 4, keyDim: 6, hiddenDim: 8 });
        layer.wQ.setWeights(ft(c.params!.W_q));
        layer.wK.setWeights(ft(c.params!.W_k));
        layer.v.assign(ft(c.params!.w_v));
        return { layer, params: { W_q: layer.wQ.weight, W_k: layer.wK.weight, w_v: layer.v } };
      },
    ]),
    [
      'luong_general',
      (c) => {
        const layer = new LuongGeneralAttention({ queryDim: 4, keyDim: 6 });
        layer.wA.setWeights(ft(c.params!.W));
        return { layer, params: { W: layer.wA.weight } };
      },
    ],
    [
      'luong_concat',
      (c) => {
        const layer = new LuongConcatAttention({ queryDim: 4, keyDim: 6, hiddenDim: 8 });
        layer.wA.setWeights(ft(c.params!.W));
        layer.v.assign(ft(c.params!.v));
        return { layer, params: { W: layer.wA.weight, v: layer.v } };
      },
    ],
  ];
  for (const [name, load] of layers) {
    it(`${name}: scores, weights, output and gradients`, () => {
      const c = fixture(name);
      const [query, key, value] = ['query', 'key', 'value'].map((n) =>
        tf.variable(ft(c.inputs![n])),
      );
      const validLens = c.inputs!.validLens ? ft(c.inputs!.validLens) : undefined;
      const { layer, params } = load(c);
      expectTensorsClose(layer.score(query, key), c.outputs.scores, { label: 'scores' });
      const { output, weights } = layer.apply(query, key, value, { validLens });
      expectTensorsClose(weights, c.outputs.weights, { label: 'weights' });
      expectTensorsClose(output, c.outputs.output, { label: 'output' });
      const run = () => layer.apply(query, key, value, { validLens }).output;
      expectFixtureGrads(gradsOfWeightedSum(run, c.upstream!, { query, key, value, ...params }), c);
      layer.dispose();
    });
  }
});

describe('scoring functions: finite-difference gradients', () => {
  let query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, up: tf.Tensor, validLens: tf.Tensor;
  before(() => {
    query = tf.randomNormal([1, 2, 3], 0, 1, 'float32', 1);
    key = tf.randomNormal([1, 3, 3], 0, 1, 'float32', 2);
    value = tf.randomNormal([1, 3, 2], 0, 1, 'float32', 3);
    up = tf.randomNormal([1, 2, 2], 0, 1, 'float32', 4);
    validLens = tf.tensor1d([2], 'int32');
  });
  const layers: [string, () => ScoredAttention][] = [
    ['DotProductAttention', () => new DotProductAttention(true)],
    [
      'AdditiveAttention',
      () => new AdditiveAttention({ queryDim: 3, keyDim: 3, hiddenDim: 4, seed: 5 }),
    ],
    ['LuongGeneralAttention', () => new LuongGeneralAttention({ queryDim: 3, keyDim: 3, seed: 6 })],
    [
      'LuongConcatAttention',
      () => new LuongConcatAttention({ queryDim: 3, keyDim: 3, hiddenDim: 4, seed: 7 }),
    ],
  ];
  for (const [name, make] of layers) {
    it(`${name}: d output / d (query, key, value) and d output / d parameters`, () => {
      const layer = make();
      checkGradients(
        (q, k, v) => tf.sum(tf.mul(layer.apply(q, k, v, { validLens }).output, up)),
        [query, key, value],
      );
      if (layer.variables().length > 0) {
        checkVariableGradients(
          () =>
            tf.sum(tf.mul(layer.apply(query, key, value, { validLens }).output, up)) as tf.Scalar,
          layer.variables(),
        );
      }
      layer.dispose();
    });
  }
});

describe('scoring functions: errors and hygiene', () => {
  let q: tf.Tensor, k: tf.Tensor, v: tf.Tensor;
  before(() => {
    q = tf.zeros([2, 3, 4]);
    k = tf.zeros([2, 5, 4]);
    v = tf.zeros([2, 5, 6]);
  });
  const errors: [string, () => unknown, RegExp][] = [
    [
      'a key of another width',
      () => dotScores(q, tf.zeros([2, 5, 3])),
      /key: expected shape \[B, S, Dq\] with Dq = 4 \(from query\), got \[2, 5, 3\]/,
    ],
    [
      'a batch mismatch',
      () => scaledDotProductAttention(q, tf.zeros([3, 5, 4]), v),
      /key: expected shape \[B, S, D\] with B = 2 \(from query\), got \[3, 5, 4\]/,
    ],
    [
      'values for another number of keys',
      () => scaledDotProductAttention(q, k, tf.zeros([2, 4, 6])),
      /value: expected shape \[B, S, Dv\] with S = 5 \(from key\), got \[2, 4, 6\]/,
    ],
    [
      'a rank-2 query',
      () => scaledDotProductAttention(tf.zeros([3, 4]), k, v),
      /query: expected rank 3 \[B, T, D\] or rank 4 \[B, H, T, Dh\], got rank 2/,
    ],
    [
      'an empty key sequence',
      () => scaledDotProductAttention(q, tf.zeros([2, 0, 4]), tf.zeros([2, 0, 6])),
      /key: expected a non-empty dimension S/,
    ],
    [
      'NaN in the query',
      () => scaledDotProductAttention(tf.fill([2, 3, 4], NaN), k, v),
      /query: expected finite values, got NaN at flat index 0/,
    ],
    [
      'NaN in the values',
      () => attentionPooling(tf.zeros([2, 3, 5]), tf.fill([2, 5, 6], NaN)),
      /value: expected finite values, got NaN/,
    ],
    [
      'a mask for another key length',
      () => scaledDotProductAttention(q, k, v, { validLens: tf.tensor1d([2, 6]) }),
      /validLens: expected integers in \[0, S\] = \[0, 5\], got 6 at index 1/,
    ],
    [
      'a query of the wrong width for additive',
      () => new AdditiveAttention({ queryDim: 3, keyDim: 4, hiddenDim: 2 }).score(q, k),
      /query: expected shape \[B, T, 3\], got \[2, 3, 4\]/,
    ],
    [
      'a non-integer hidden width',
      () => new AdditiveAttention({ queryDim: 3, keyDim: 4, hiddenDim: 2.5 }),
      /hiddenDim: expected an integer >= 1, got number 2.5/,
    ],
    [
      'projected keys of another hidden width',
      () => additiveScores(tf.zeros([2, 3, 4]), tf.zeros([2, 5, 3]), tf.zeros([4])),
      /k: expected shape \[B, S, A\] with A = 4 \(from q\), got \[2, 5, 3\]/,
    ],
    [
      'a missing value',
      () => scaledDotProductAttention(q, k, undefined as never),
      /value: expected a tf\.Tensor, got undefined/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what} with a clear message`, () => assert.throws(thunk, message));
  }

  it('no scoring function leaks tensors, forward or backward', async () => {
    const layers = [
      new DotProductAttention(false),
      new AdditiveAttention({ queryDim: 4, keyDim: 4, hiddenDim: 3 }),
      new LuongGeneralAttention({ queryDim: 4, keyDim: 4 }),
      new LuongConcatAttention({ queryDim: 4, keyDim: 4, hiddenDim: 3 }),
    ];
    const validLens = tf.tensor1d([2, 5], 'int32');
    await expectNoLeak(() => {
      for (const layer of layers) {
        const r = layer.apply(q, k, v, { validLens });
        r.output.dispose();
        r.weights.dispose();
        if (layer.variables().length > 0) {
          const { value, grads } = tf.variableGrads(
            () => layer.apply(q, k, v).output.sum() as tf.Scalar,
            layer.variables(),
          );
          value.dispose();
          tf.dispose(grads);
        }
      }
    });
    layers.forEach((l) => l.dispose());
  });
});
