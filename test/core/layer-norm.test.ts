import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { LayerNorm } from '../../src/core/layer-norm';
import { expectFixtureGrads, ft, gradsOfWeightedSum } from '../helpers/fixtures';
import { blocksFixture } from '../helpers/torch-blocks';
import {
  checkGradients,
  checkVariableGradients,
  expectNoLeak,
  expectTensorsClose,
} from '../helpers/tensors';

describe('LayerNorm', () => {
  for (const name of ['layerNorm', 'layerNormOffset']) {
    it(`matches torch.nn.functional.layer_norm, values and gradients (${name})`, async () => {
      const c = blocksFixture(name);
      const config = c.config as { dModel: number; eps: number };
      await expectNoLeak(() => {
        const norm = new LayerNorm(config);
        tf.tidy(() => {
          norm.gamma.assign(ft(c.params!.gamma));
          norm.beta.assign(ft(c.params!.beta));
        });
        const x = tf.tidy(() => tf.variable(ft(c.inputs!.x)));
        const y = norm.apply(x);
        expectTensorsClose(y, c.outputs.output, { atol: 1e-5, rtol: 1e-5 });
        const grads = gradsOfWeightedSum(() => norm.apply(x), c.upstream!, {
          x,
          gamma: norm.gamma,
          beta: norm.beta,
        });
        expectFixtureGrads(grads, c);
        tf.dispose([x, y, grads]);
        norm.dispose();
      }, name);
    });
  }

  it('normalises [1, 2, 3] to (x - 2) / sqrt(2/3 + eps) (hand-computed, biased variance)', () => {
    const norm = new LayerNorm({ dModel: 3 });
    const s = 1 / Math.sqrt(2 / 3 + 1e-5);
    const y = norm.apply(tf.tensor2d([[1, 2, 3]]));
    expectTensorsClose(y, [[-s, 0, s]], { atol: 1e-6 });
    // a constant vector has variance 0: the output is beta, not NaN
    const flat = norm.apply(tf.tensor1d([5, 5, 5]));
    expectTensorsClose(flat, [0, 0, 0]);
    tf.dispose([y, flat]);
    norm.dispose();
  });

  it('has a gradient that agrees with finite differences', () => {
    const norm = new LayerNorm({ dModel: 4, eps: 1e-3 });
    tf.tidy(() => {
      norm.gamma.assign(tf.tensor1d([1.5, -0.5, 0.8, 1.2]));
      norm.beta.assign(tf.tensor1d([0.1, 0.2, -0.3, 0]));
    });
    const x = tf.tensor2d([
      [0.3, -1.2, 2.0, 0.7],
      [1.1, 0.4, -0.6, -2.2],
    ]);
    const up = tf.tensor2d([
      [0.5, -1, 2, 0.3],
      [-0.7, 1.4, 0.2, 1],
    ]);
    const loss = (xs: tf.Tensor): tf.Scalar => tf.sum(tf.mul(norm.apply(xs), up));
    checkGradients(loss, [x], { eps: 1e-2, tol: 2e-3, label: 'LayerNorm d/dx' });
    checkVariableGradients(() => loss(x), [norm.gamma, norm.beta], {
      label: 'LayerNorm d/dgamma, d/dbeta',
    });
    tf.dispose([x, up]);
    norm.dispose();
  });

  it('owns gamma (ones) and beta (zeros), 2 D parameters', () => {
    const norm = new LayerNorm({ dModel: 6 });
    assert.deepEqual(
      norm.namedVariables().map(([n]) => n),
      ['gamma', 'beta'],
    );
    assert.equal(norm.numParameters(), 12);
    assert.deepEqual(norm.gamma.arraySync(), [1, 1, 1, 1, 1, 1]);
    norm.dispose();
  });

  it('rejects bad configs and inputs, naming the argument', () => {
    assert.throws(
      () => new LayerNorm({ dModel: 0 }),
      /^RangeError: dModel: expected an integer >= 1, got number 0/,
    );
    assert.throws(
      () => new LayerNorm({ dModel: 4, eps: 0 }),
      /^RangeError: eps: expected a finite number > 0/,
    );
    const norm = new LayerNorm({ dModel: 4 });
    assert.throws(
      () => norm.apply(tf.zeros([2, 3])),
      /^Error: x: expected shape \[\?, D\] with D = 4 \(from dModel\), got \[2, 3\]/,
    );
    assert.throws(
      () => norm.apply([1, 2, 3, 4] as never),
      /^TypeError: x: expected a tf.Tensor, got an array/,
    );
    assert.throws(
      () => norm.apply(tf.zeros([4], 'int32')),
      /^TypeError: x: expected dtype float32, got int32/,
    );
    assert.throws(
      () => norm.apply(tf.tensor1d([0, NaN, 0, 0])),
      /^RangeError: x: expected finite values, got NaN/,
    );
    norm.dispose();
  });
});
