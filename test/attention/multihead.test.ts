import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention, mergeHeads, splitHeads } from '../../src/attention/multihead';
import { scaledDotProductAttention } from '../../src/attention/pooling';
import { expectFixtureGrads, fixture, ft, gradsOfWeightedSum } from '../helpers/fixtures';
import {
  checkGradients,
  checkVariableGradients,
  expectNoLeak,
  expectTensorsClose,
} from '../helpers/tensors';

const PARAMS: Record<string, string> = { W_q: 'wQ', W_k: 'wK', W_v: 'wV', W_o: 'wO' };

function loadFixtureLayer(c: ReturnType<typeof fixture>): {
  mha: MultiHeadAttention;
  vars: Record<string, tf.Variable>;
} {
  const mha = new MultiHeadAttention({ dModel: 8, numHeads: c.config!.numHeads as number });
  const p = c.params!;
  mha.setWeights({
    wQ: ft(p.W_q),
    wK: ft(p.W_k),
    wV: ft(p.W_v),
    wO: ft(p.W_o),
    bQ: ft(p.b_q),
    bK: ft(p.b_k),
    bV: ft(p.b_v),
    bO: ft(p.b_o),
  });
  const vars: Record<string, tf.Variable> = {};
  for (const [fixtureName, field] of Object.entries(PARAMS)) {
    const layer = mha[field as 'wQ'];
    vars[fixtureName] = layer.weight;
    vars[`b_${fixtureName.slice(2)}`] = layer.bias!;
  }
  return { mha, vars };
}

describe('multi-head attention', () => {
  it('splits and merges heads as inverse reshapes, head i owning features [i*Dh, (i+1)*Dh)', () => {
    const x = tf.range(0, 12).reshape([1, 2, 6]); // B=1, T=2, D=6
    const heads = splitHeads(x, 3);
    assert.deepEqual(heads.shape, [1, 3, 2, 2]);
    assert.deepEqual(heads.arraySync()[0][1], [
      [2, 3],
      [8, 9],
    ]);
    expectTensorsClose(mergeHeads(heads), x);
    assert.throws(() => splitHeads(x, 4), /numHeads: expected a divisor of D = 6, got 4/);
  });

  it('with one head and identity projections equals scaled dot-product attention', () => {
    const mha = new MultiHeadAttention({ dModel: 4, numHeads: 1, bias: false });
    const eye = tf.eye(4);
    mha.setWeights({ wQ: eye, wK: eye, wV: eye, wO: eye });
    const q = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 1);
    const k = tf.randomNormal([2, 5, 4], 0, 1, 'float32', 2);
    const validLens = tf.tensor1d([2, 5], 'int32');
    const ref = scaledDotProductAttention(q, k, k, { validLens });
    const got = mha.apply(q, k, k, { validLens });
    expectTensorsClose(got.output, ref.output);
    expectTensorsClose(got.weights.squeeze([1]), ref.weights);
    mha.dispose();
  });

  it('matches torch.nn.MultiheadAttention: cross-attention with key padding', () => {
    const c = fixture('mha_cross_padding');
    const { mha, vars } = loadFixtureLayer(c);
    const [query, key, value] = ['query', 'key', 'value'].map((n) => tf.variable(ft(c.inputs![n])));
    const validLens = ft(c.inputs!.validLens);
    const run = () => mha.apply(query, key, value, { validLens });
    expectTensorsClose(run().output, c.outputs.output, { label: 'output' });
    expectTensorsClose(run().weights, c.outputs.weights, { label: 'weights' });
    const g = gradsOfWeightedSum(() => run().output, c.upstream!, { query, key, value, ...vars });
    expectFixtureGrads(g, c);
    mha.dispose();
  });

  for (const name of ['mha_self_causal', 'mha_self_causal_padding']) {
    it(`matches torch.nn.MultiheadAttention: ${name} (self-attention)`, () => {
      const c = fixture(name);
      const { mha, vars } = loadFixtureLayer(c);
      const x = tf.variable(ft(c.inputs!.x));
      const validLens = c.inputs!.validLens ? ft(c.inputs!.validLens) : undefined;
      const run = () => mha.apply(x, x, x, { causal: true, validLens });
      expectTensorsClose(run().output, c.outputs.output, { label: 'output' });
      expectTensorsClose(run().weights, c.outputs.weights, { label: 'weights' });
      const g = gradsOfWeightedSum(() => run().output, c.upstream!, { x, ...vars });
      expectFixtureGrads(g, c);
      mha.dispose();
    });
  }

  it('causal weights are zero above the diagonal and rows sum to 1', () => {
    const mha = new MultiHeadAttention({ dModel: 8, numHeads: 2, seed: 3 });
    const x = tf.randomNormal([2, 4, 8], 0, 1, 'float32', 9);
    const w = mha.apply(x, x, x, { causal: true }).weights.arraySync() as number[][][][];
    for (const b of w)
      for (const h of b)
        h.forEach((row, t) => {
          row.forEach((value, s) => {
            if (s > t) assert.equal(value, 0);
          });
          assert.ok(Math.abs(row.reduce((a, v) => a + v, 0) - 1) < 1e-5);
        });
    mha.dispose();
  });

  it('has finite-difference gradients with respect to its inputs and weights', () => {
    const mha = new MultiHeadAttention({ dModel: 4, numHeads: 2, seed: 11 });
    const q = tf.randomNormal([1, 2, 4], 0, 1, 'float32', 12);
    const kv = tf.randomNormal([1, 3, 4], 0, 1, 'float32', 13);
    const up = tf.randomNormal([1, 2, 4], 0, 1, 'float32', 14);
    const validLens = tf.tensor1d([2], 'int32');
    checkGradients((a, b) => tf.sum(tf.mul(mha.apply(a, b, b, { validLens }).output, up)), [q, kv]);
    checkVariableGradients(
      () => tf.sum(tf.mul(mha.apply(q, kv, kv, { validLens }).output, up)) as tf.Scalar,
      mha.variables(),
    );
    mha.dispose();
  });

  let mha: MultiHeadAttention;
  let x: tf.Tensor;
  before(() => {
    mha = new MultiHeadAttention({ dModel: 8, numHeads: 2 });
    x = tf.zeros([2, 3, 8]);
  });
  const errors: [string, () => unknown, RegExp][] = [
    [
      'a width that heads do not divide',
      () => new MultiHeadAttention({ dModel: 8, numHeads: 3 }),
      /numHeads: expected a divisor of dModel = 8, got 3/,
    ],
    [
      'a query of the wrong width',
      () => mha.apply(tf.zeros([2, 3, 6]), x, x),
      /query: expected shape \[B, T, 8\], got \[2, 3, 6\]/,
    ],
    [
      'keys and values of different lengths',
      () => mha.apply(x, tf.zeros([2, 4, 8]), x),
      /value: expected shape \[B, S, 8\] with S = 4 \(from key\), got \[2, 3, 8\]/,
    ],
    [
      'key lengths longer than S',
      () => mha.apply(x, x, x, { validLens: tf.tensor1d([3, 4]) }),
      /validLens: expected integers in \[0, S\] = \[0, 3\], got 4 at index 1/,
    ],
    [
      'a causal mask with more queries than keys',
      () => mha.apply(tf.zeros([2, 4, 8]), x, x, { causal: true }),
      /MultiHeadAttention\.apply: causal: needs at least as many keys as queries \(S >= T\), got T = 4, S = 3/,
    ],
    [
      'an int mask',
      () => mha.apply(x, x, x, { mask: tf.ones([3, 3], 'int32') }),
      /MultiHeadAttention\.apply: mask: expected dtype bool or float32, got int32/,
    ],
    [
      'a mask that does not broadcast to [B, H, T, S]',
      () => mha.apply(x, x, x, { mask: tf.ones([3, 3, 3], 'bool') }),
      /mask: expected a shape broadcastable to the scores \[2, 3, 3\], got \[3, 3, 3\]/,
    ],
    [
      'weights of the wrong shape',
      () => mha.setWeights({ wQ: tf.eye(4), wK: tf.eye(8), wV: tf.eye(8), wO: tf.eye(8) }),
      /wQ: expected shape \[8, 8\], got \[4, 4\]/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what} with a clear message`, () => assert.throws(thunk, message));
  }

  it('does not leak tensors, forward or backward', async () => {
    const validLens = tf.tensor1d([1, 3], 'int32');
    await expectNoLeak(() => {
      const r = mha.apply(x, x, x, { causal: true, validLens });
      tf.dispose([r.output, r.weights]);
      const { value, grads } = tf.variableGrads(
        () => mha.apply(x, x, x, { causal: true }).output.sum() as tf.Scalar,
        mha.variables(),
      );
      value.dispose();
      tf.dispose(grads);
    });
  });

  it('projects Q, K, V (projectSelf) and K, V (projectKeysValues) in one product: the same values and gradients as each Linear then splitHeads', async () => {
    const layer = new MultiHeadAttention({ dModel: 8, numHeads: 2, seed: 5 });
    const input = tf.variable(tf.randomNormal([2, 3, 8], 0, 1, 'float32', 6)); // [B, T, D]
    const seeds = [tf.randomNormal([2, 2, 3, 4], 0, 1, 'float32', 7)]; // [B, H, T, Dh]
    seeds.push(
      tf.randomNormal([2, 2, 3, 4], 0, 1, 'float32', 8),
      tf.randomNormal([2, 2, 3, 4], 0, 1, 'float32', 9),
    );
    const vars = [input, ...layer.variables()];
    // one scalar from every head tensor, weighted so that each element's gradient differs
    const weigh = (heads: tf.Tensor[]) =>
      tf.addN(heads.map((h, i) => tf.sum(tf.mul(h, seeds[i]!)))) as tf.Scalar;
    const separate = (names: ('wQ' | 'wK' | 'wV')[]) => () =>
      weigh(names.map((n) => splitHeads(layer[n].apply(input), 2)));
    const cases: [string, () => tf.Scalar, () => tf.Scalar][] = [
      ['projectSelf', () => weigh(layer.projectSelf(input)), separate(['wQ', 'wK', 'wV'])],
      [
        'projectKeysValues',
        () => {
          const { k, v } = layer.projectKeysValues(input);
          return weigh([k, v]);
        },
        separate(['wK', 'wV']),
      ],
    ];
    for (const [name, fused, plain] of cases) {
      await expectNoLeak(() => {
        const a = tf.variableGrads(fused, vars);
        const b = tf.variableGrads(plain, vars);
        expectTensorsClose(a.value, b.value, { atol: 1e-5, label: `${name} value` });
        // the input and the used projections' weights and biases (1 + 2 per projection)
        assert.deepEqual(Object.keys(a.grads).sort(), Object.keys(b.grads).sort());
        assert.equal(Object.keys(b.grads).length, name === 'projectSelf' ? 7 : 5);
        for (const v of vars.filter((u) => b.grads[u.name] !== undefined)) {
          expectTensorsClose(a.grads[v.name]!, b.grads[v.name]!, {
            atol: 1e-5,
            label: `${name} d${v.name}`,
          });
        }
        tf.dispose([a.value, b.value, a.grads, b.grads] as unknown as tf.TensorContainer);
      }, name);
    }
    layer.dispose();
    tf.dispose([input, ...seeds]);
  });

  it('counts its parameters (4 D x D matrices and 4 biases)', () => {
    assert.equal(mha.numParameters(), 4 * 8 * 8 + 4 * 8);
    const layer = new MultiHeadAttention({ dModel: 8, numHeads: 2 });
    const before = tf.memory().numTensors;
    layer.dispose();
    assert.equal(tf.memory().numTensors, before - 8);
  });
});
