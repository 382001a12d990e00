import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { LocalPAttention } from '../../src/attention/local';
import { expectFixtureGrads, fixture, ft, gradsOfWeightedSum } from '../helpers/fixtures';
import {
  checkGradients,
  checkVariableGradients,
  expectNoLeak,
  expectTensorsClose,
} from '../helpers/tensors';

function fixtureLayer(): { layer: LocalPAttention; c: ReturnType<typeof fixture> } {
  const c = fixture('local_p');
  const layer = new LocalPAttention({
    queryDim: 4,
    keyDim: 4,
    hiddenDim: 5,
    window: c.config!.Dwin as number,
  });
  layer.wP.setWeights(ft(c.params!.W_p));
  layer.vP.assign(ft(c.params!.v_p));
  layer.wA.setWeights(ft(c.params!.W_a));
  return { layer, c };
}

describe('Luong local-p attention', () => {
  it('matches the PyTorch reference: positions, weights, output and gradients', () => {
    const { layer, c } = fixtureLayer();
    const [query, key, value] = ['query', 'key', 'value'].map((n) => tf.variable(ft(c.inputs![n])));
    const validLens = ft(c.inputs!.validLens);
    const r = layer.apply(query, key, value, { validLens });
    expectTensorsClose(r.positions, c.outputs.positions, { label: 'positions' });
    expectTensorsClose(r.weights, c.outputs.weights, { label: 'weights' });
    expectTensorsClose(r.output, c.outputs.output, { label: 'output' });
    const g = gradsOfWeightedSum(
      () => layer.apply(query, key, value, { validLens }).output,
      c.upstream!,
      {
        query,
        key,
        value,
        W_p: layer.wP.weight,
        v_p: layer.vP,
        W_a: layer.wA.weight,
      },
    );
    expectFixtureGrads(g, c);
    layer.dispose();
  });

  it('puts zero weight outside the window and on padding', () => {
    const { layer, c } = fixtureLayer();
    const validLens = ft(c.inputs!.validLens);
    const r = layer.apply(ft(c.inputs!.query), ft(c.inputs!.key), ft(c.inputs!.value), {
      validLens,
    });
    const p = r.positions.arraySync() as number[][];
    const w = r.weights.arraySync() as number[][][];
    const lens = validLens.arraySync() as number[];
    w.forEach((rows, b) =>
      rows.forEach((row, t) =>
        row.forEach((weight, s) => {
          if (Math.abs(s - p[b][t]) > 2 || s >= lens[b])
            assert.equal(weight, 0, `b=${b} t=${t} s=${s}`);
          else assert.ok(weight > 0);
        }),
      ),
    );
    layer.dispose();
  });

  it('has finite-difference gradients (inputs and weights)', () => {
    const { layer, c } = fixtureLayer();
    const key = ft(c.inputs!.key);
    const value = ft(c.inputs!.value);
    const validLens = ft(c.inputs!.validLens);
    const up = ft(c.upstream);
    const query = ft(c.inputs!.query);
    checkGradients(
      (q, k, v) => tf.sum(tf.mul(layer.apply(q, k, v, { validLens }).output, up)),
      [query, key, value],
      { eps: 1e-3 },
    );
    checkVariableGradients(
      () => tf.sum(tf.mul(layer.apply(query, key, value, { validLens }).output, up)) as tf.Scalar,
      layer.variables(),
      { eps: 1e-3 },
    );
    layer.dispose();
  });

  it('rejects bad inputs with clear messages and does not leak', async () => {
    const layer = new LocalPAttention({ queryDim: 4, keyDim: 4, hiddenDim: 3, window: 1 });
    const q = tf.zeros([2, 3, 4]);
    const k = tf.zeros([2, 5, 4]);
    assert.throws(
      () => layer.apply(q, k, k, { validLens: tf.tensor1d([0, 5]) }),
      /validLens: expected every source length >= 1, got 0/,
    );
    assert.throws(
      () => layer.apply(q, k, k, { validLens: tf.tensor1d([2, 6]) }),
      /validLens: expected integers in \[0, S\] = \[0, 5\], got 6/,
    );
    assert.throws(
      () => layer.apply(q, tf.zeros([2, 5, 3]), k),
      /key: expected shape \[B, S, 4\], got \[2, 5, 3\]/,
    );
    assert.throws(
      () => new LocalPAttention({ queryDim: 4, keyDim: 4, hiddenDim: 3, window: -1 }),
      /window: expected an integer >= 0, got number -1/,
    );
    const validLens = tf.tensor1d([2, 5], 'int32');
    await expectNoLeak(() => {
      const r = layer.apply(q, k, k, { validLens });
      tf.dispose([r.output, r.weights, r.positions]);
    });
    layer.dispose();
  });
});
