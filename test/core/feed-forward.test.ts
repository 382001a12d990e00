import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { FeedForward, gelu } from '../../src/core/feed-forward';
import { expectFixtureGrads, ft, gradsOfWeightedSum } from '../helpers/fixtures';
import { blocksFixture } from '../helpers/torch-blocks';
import { checkGradients, expectNoLeak, expectTensorsClose } from '../helpers/tensors';

describe('FeedForward', () => {
  for (const name of ['feedForwardRelu', 'feedForwardGelu']) {
    it(`matches PyTorch's linear2(dropout(act(linear1(x)))), values and gradients (${name})`, async () => {
      const c = blocksFixture(name);
      const config = c.config as { dModel: number; dHidden: number; activation: 'relu' | 'gelu' };
      await expectNoLeak(() => {
        // dropout > 0 but eval mode: the block must behave as PyTorch's with dropout 0
        const ffn = new FeedForward({ ...config, dropout: 0.5, seed: 4 }).eval();
        const p = c.params!;
        tf.tidy(() => {
          ffn.linear1.setWeights(ft(p['linear1.weight']), ft(p['linear1.bias']));
          ffn.linear2.setWeights(ft(p['linear2.weight']), ft(p['linear2.bias']));
        });
        const x = tf.tidy(() => tf.variable(ft(c.inputs!.x)));
        const y = ffn.apply(x);
        expectTensorsClose(y, c.outputs.output, { atol: 1e-5, rtol: 1e-5 });
        const grads = gradsOfWeightedSum(() => ffn.apply(x), c.upstream!, {
          x,
          'linear1.weight': ffn.linear1.weight,
          'linear1.bias': ffn.linear1.bias!,
          'linear2.weight': ffn.linear2.weight,
          'linear2.bias': ffn.linear2.bias!,
        });
        expectFixtureGrads(grads, c);
        tf.dispose([x, y, grads]);
        ffn.dispose();
      }, name);
    });
  }

  it('computes exact GELU: x Phi(x) (Phi from tables: 0.841345 at 1, 0.977250 at 2)', () => {
    const y = gelu(tf.tensor1d([0, 1, -1, 2]));
    expectTensorsClose(y, [0, 0.841345, -0.158655, 2 * 0.97725], { atol: 2e-6 });
    const x = tf.tensor1d([-1.5, -0.3, 0.2, 1.7]);
    checkGradients((xs) => tf.sum(gelu(xs)), [x], { eps: 1e-2, tol: 1e-3, label: 'gelu' });
    tf.dispose([y, x]);
  });

  it('owns two Linear layers named like PyTorch, 2 D Dff + Dff + D parameters', () => {
    const ffn = new FeedForward({ dModel: 4, dHidden: 10 });
    assert.deepEqual(
      ffn.namedVariables().map(([n]) => n),
      ['linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias'],
    );
    assert.equal(ffn.numParameters(), 2 * 4 * 10 + 10 + 4);
    // the two layers get different initial weights from one seed
    const w1 = ffn.linear1.weight.arraySync() as number[][];
    const w2t = tf.tidy(() => ffn.linear2.weight.transpose().arraySync()) as number[][];
    assert.notDeepEqual(w1, w2t);
    ffn.dispose();
  });

  it('drops hidden units in training mode only', () => {
    const ffn = new FeedForward({ dModel: 3, dHidden: 32, dropout: 0.5, seed: 1 });
    const x = tf.tensor2d([[0.5, -1, 2]]);
    const train1 = ffn.apply(x);
    const train2 = ffn.apply(x);
    ffn.eval();
    const evalOut = ffn.apply(x);
    const plain = new FeedForward({ dModel: 3, dHidden: 32, seed: 1 });
    const reference = plain.apply(x);
    expectTensorsClose(evalOut, reference, { atol: 0 });
    const same = (a: tf.Tensor, b: tf.Tensor): boolean =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] < 1e-6);
    assert.ok(!same(train1, reference), 'training mode should differ from eval mode');
    assert.ok(!same(train1, train2), 'two training calls should draw two masks');
    tf.dispose([x, train1, train2, evalOut, reference]);
    ffn.dispose();
    plain.dispose();
  });

  it('rejects bad configs and inputs, naming the argument', () => {
    assert.throws(
      () => new FeedForward({ dModel: 4, dHidden: 0 }),
      /^RangeError: dHidden: expected an integer >= 1/,
    );
    assert.throws(
      () => new FeedForward({ dModel: 4, dHidden: 8, activation: 'tanh' as never }),
      /^RangeError: activation: expected 'relu' or 'gelu', got tanh/,
    );
    assert.throws(
      () => new FeedForward({ dModel: 4, dHidden: 8, dropout: 1 }),
      /^RangeError: dropout: expected a rate in \[0, 1\), got 1/,
    );
    const ffn = new FeedForward({ dModel: 4, dHidden: 8 });
    assert.throws(
      () => ffn.apply(tf.zeros([2, 3, 5])),
      /^Error: x: expected shape \[\?, \?, D\] with D = 4 \(from dModel\), got \[2, 3, 5\]/,
    );
    assert.throws(
      () => ffn.apply(tf.tensor1d([0, 0, Infinity, 0])),
      /^RangeError: x: expected finite values, got Infinity/,
    );
    ffn.dispose();
  });
});
