import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GRUCell } from '../../src/core/gru';
import { parameter } from '../../src/core/module';
import { ft } from '../helpers/fixtures';
import { recurrentFixture, torchParams, weightedSum } from '../helpers/recurrent-fixtures';
import {
  checkGradients,
  checkVariableGradients,
  expectNoLeak,
  expectTensorsClose,
} from '../helpers/tensors';

describe('GRUCell', () => {
  it('matches one step of nn.GRUCell loaded with fromTorch, values and gradients (PyTorch, 1e-5)', async () => {
    const c = recurrentFixture('gru_cell');
    await expectNoLeak(() => {
      const cell = new GRUCell({ inputSize: 3, hiddenSize: 2 });
      const p = torchParams(c);
      cell.fromTorch({
        weightIh: p.weight_ih,
        weightHh: p.weight_hh,
        biasIh: p.bias_ih,
        biasHh: p.bias_hh,
      });
      const x = parameter(ft(c.inputs.x));
      const h = parameter(ft(c.inputs.h));
      const h1 = cell.step(x, h);
      expectTensorsClose(h1, c.outputs.h, { atol: 1e-5, label: "h'" });
      const vars = { x, h, wX: cell.wX, wH: cell.wH, bX: cell.bX, bH: cell.bH };
      const { value, grads } = tf.variableGrads(
        () => weightedSum(c, { h: cell.step(x, h) }),
        Object.values(vars),
      );
      for (const [name, v] of Object.entries(vars)) {
        expectTensorsClose(grads[v.name], c.grads[name], { atol: 1e-5, label: `grad ${name}` });
      }
      tf.dispose([Object.values(p), x, h, h1, value, grads]);
      cell.dispose();
    }, 'GRUCell');
  });

  it("halves the state when every weight is zero (r = z = 1/2, n = 0, so h' = h / 2)", () => {
    const cell = new GRUCell({ inputSize: 2, hiddenSize: 3 });
    tf.tidy(() => {
      cell.setWeights({
        wX: tf.zeros([2, 9]),
        wH: tf.zeros([3, 9]),
        bX: tf.zeros([9]),
        bH: tf.zeros([9]),
      });
      expectTensorsClose(cell.step(tf.ones([1, 2]), tf.tensor2d([[2, -4, 6]])), [[1, -2, 3]]);
    });
    cell.dispose();
  });

  it('has gradients equal to central finite differences (inputs and every weight)', () => {
    const cell = new GRUCell({ inputSize: 2, hiddenSize: 2, seed: 3 });
    const x = tf.tensor2d([
      [0.5, -1.2],
      [0.3, 0.8],
    ]);
    const h = tf.tensor2d([
      [0.1, -0.7],
      [0.9, 0.2],
    ]);
    const u = tf.tensor2d([
      [1, -2],
      [0.5, 1.5],
    ]);
    const loss = (xx: tf.Tensor, hh: tf.Tensor): tf.Scalar =>
      tf.tidy(() => tf.sum(tf.mul(cell.step(xx, hh), u)));
    // float32 with eps 1e-2: truncation error ~1e-5, so a wrong gate term (errors ~1e-1) fails
    checkGradients(loss, [x, h], { eps: 1e-2, tol: 2e-3, label: 'GRUCell inputs' });
    checkVariableGradients(() => loss(x, h), cell.variables(), {
      eps: 1e-2,
      tol: 2e-3,
      label: 'GRUCell',
    });
    tf.dispose([x, h, u]);
    cell.dispose();
  });

  it('has four weights [I, 3D], [D, 3D], [3D], [3D], seeded', () => {
    const a = new GRUCell({ inputSize: 3, hiddenSize: 2, seed: 1 });
    const b = new GRUCell({ inputSize: 3, hiddenSize: 2, seed: 1 });
    assert.deepEqual(
      a.namedVariables().map(([n, v]) => [n, v.shape]),
      [
        ['wX', [3, 6]],
        ['wH', [2, 6]],
        ['bX', [6]],
        ['bH', [6]],
      ],
    );
    // PyTorch's nn.GRUCell(3, 2) has 3 * (3*2 + 2*2 + 2 + 2) = 42 parameters
    assert.equal(a.numParameters(), 42);
    assert.deepEqual(a.wH.arraySync(), b.wH.arraySync());
    // every weight starts in U(-1/sqrt(D), 1/sqrt(D))
    assert.ok(Math.max(...(a.wX.dataSync() as Float32Array).map(Math.abs)) <= 1 / Math.sqrt(2));
    a.dispose();
    b.dispose();
  });

  it('rejects bad inputs, states and weights with messages naming them', () => {
    const cell = new GRUCell({ inputSize: 3, hiddenSize: 2 });
    const x = tf.zeros([2, 3]);
    const wide = tf.zeros([2, 4]);
    const h3 = tf.zeros([3, 2]);
    const nan = tf.tensor2d([
      [NaN, 0],
      [0, 0],
    ]);
    assert.throws(() => cell.step(wide, h3), /^Error: x: expected shape \[B, 3\], got \[2, 4\]/);
    assert.throws(
      () => cell.step(x, h3),
      /^Error: h: expected shape \[B, 2\] with B = 2 \(from x\), got \[3, 2\]/,
    );
    assert.throws(() => cell.step(x, nan), /^RangeError: h: expected finite values, got NaN/);
    assert.throws(
      () =>
        cell.fromTorch({
          weightIh: tf.zeros([3, 6]),
          weightHh: tf.zeros([6, 2]),
          biasIh: tf.zeros([6]),
          biasHh: tf.zeros([6]),
        }),
      /^Error: weightIh: expected shape \[6, 3\], got \[3, 6\]/,
    );
    assert.throws(
      () =>
        cell.setWeights({
          wX: tf.zeros([3, 6]),
          wH: tf.zeros([2, 6]),
          bX: tf.zeros([6]),
          bH: tf.zeros([5]),
        }),
      /^Error: bH: expected shape \[6\], got \[5\]/,
    );
    assert.throws(
      () => new GRUCell({ inputSize: 3, hiddenSize: 0 }),
      /^RangeError: hiddenSize: expected an integer >= 1, got number 0/,
    );
    tf.dispose([x, wide, h3, nan]);
    cell.dispose();
  });
});
