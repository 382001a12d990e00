import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { LSTMCell } from '../../src/core/lstm';
import { parameter } from '../../src/core/module';
import { ft } from '../helpers/fixtures';
import { recurrentFixture, torchParams, weightedSum } from '../helpers/recurrent-fixtures';
import {
  checkGradients,
  checkVariableGradients,
  expectNoLeak,
  expectTensorsClose,
} from '../helpers/tensors';

describe('LSTMCell', () => {
  it('matches one step of nn.LSTMCell loaded with fromTorch, values and gradients (PyTorch, 1e-5)', async () => {
    const c = recurrentFixture('lstm_cell');
    await expectNoLeak(() => {
      const cell = new LSTMCell({ inputSize: 3, hiddenSize: 2 });
      const p = torchParams(c);
      cell.fromTorch({
        weightIh: p.weight_ih,
        weightHh: p.weight_hh,
        biasIh: p.bias_ih,
        biasHh: p.bias_hh,
      });
      const x = parameter(ft(c.inputs.x));
      const h = parameter(ft(c.inputs.h));
      const cc = parameter(ft(c.inputs.c));
      const next = cell.step(x, { h, c: cc });
      expectTensorsClose(next.h, c.outputs.h, { atol: 1e-5, label: "h'" });
      expectTensorsClose(next.c, c.outputs.c, { atol: 1e-5, label: "c'" });
      const vars = { x, h, c: cc, wX: cell.wX, wH: cell.wH, bX: cell.bX, bH: cell.bH };
      const { value, grads } = tf.variableGrads(
        () => weightedSum(c, { ...cell.step(x, { h, c: cc }) }),
        Object.values(vars),
      );
      for (const [name, v] of Object.entries(vars)) {
        expectTensorsClose(grads[v.name], c.grads[name], { atol: 1e-5, label: `grad ${name}` });
      }
      tf.dispose([Object.values(p), x, h, cc, next.h, next.c, value, grads]);
      cell.dispose();
    }, 'LSTMCell');
  });

  it("with zero weights keeps half the cell: i = f = o = 1/2, g = 0, c' = c/2, h' = tanh(c/2)/2", () => {
    const cell = new LSTMCell({ inputSize: 2, hiddenSize: 2 });
    tf.tidy(() => {
      cell.setWeights({
        wX: tf.zeros([2, 8]),
        wH: tf.zeros([2, 8]),
        bX: tf.zeros([8]),
        bH: tf.zeros([8]),
      });
      const next = cell.step(tf.ones([1, 2]), { h: tf.ones([1, 2]), c: tf.tensor2d([[2, -4]]) });
      expectTensorsClose(next.c, [[1, -2]]);
      expectTensorsClose(next.h, [[Math.tanh(1) / 2, Math.tanh(-2) / 2]]);
    });
    cell.dispose();
  });

  it('has gradients equal to central finite differences (inputs, state and every weight)', () => {
    const cell = new LSTMCell({ inputSize: 2, hiddenSize: 2, seed: 4 });
    const x = tf.tensor2d([
      [0.5, -1.2],
      [0.3, 0.8],
    ]);
    const h = tf.tensor2d([
      [0.1, -0.7],
      [0.9, 0.2],
    ]);
    const c = tf.tensor2d([
      [-0.4, 0.6],
      [1.1, -0.3],
    ]);
    const uh = tf.tensor2d([
      [1, -2],
      [0.5, 1.5],
    ]);
    const uc = tf.tensor2d([
      [-1, 0.5],
      [2, 0.25],
    ]);
    const loss = (xx: tf.Tensor, hh: tf.Tensor, cc: tf.Tensor): tf.Scalar =>
      tf.tidy(() => {
        const next = cell.step(xx, { h: hh, c: cc });
        return tf.add(tf.sum(tf.mul(next.h, uh)), tf.sum(tf.mul(next.c, uc)));
      });
    checkGradients(loss, [x, h, c], { eps: 1e-2, tol: 2e-3, label: 'LSTMCell inputs' });
    checkVariableGradients(() => loss(x, h, c), cell.variables(), {
      eps: 1e-2,
      tol: 2e-3,
      label: 'LSTMCell',
    });
    tf.dispose([x, h, c, uh, uc]);
    cell.dispose();
  });

  it('has four weights [I, 4D], [D, 4D], [4D], [4D]', () => {
    const cell = new LSTMCell({ inputSize: 3, hiddenSize: 2 });
    assert.deepEqual(
      cell.namedVariables().map(([n, v]) => [n, v.shape]),
      [
        ['wX', [3, 8]],
        ['wH', [2, 8]],
        ['bX', [8]],
        ['bH', [8]],
      ],
    );
    // PyTorch's nn.LSTMCell(3, 2) has 4 * (3*2 + 2*2 + 2 + 2) = 56 parameters
    assert.equal(cell.numParameters(), 56);
    cell.dispose();
  });

  it('rejects bad inputs and states with messages naming them', () => {
    const cell = new LSTMCell({ inputSize: 3, hiddenSize: 2 });
    const x = tf.zeros([2, 3]);
    const h = tf.zeros([2, 2]);
    const c3 = tf.zeros([2, 3]);
    assert.throws(
      () => cell.step(x, { h, c: c3 }),
      /^Error: state.c: expected shape \[B, 2\], got \[2, 3\]/,
    );
    assert.throws(
      () => cell.step(x, h as unknown as { h: tf.Tensor; c: tf.Tensor }),
      /^TypeError: state.h: expected a tf.Tensor, got undefined/,
    );
    assert.throws(
      () => cell.step(x, null as unknown as { h: tf.Tensor; c: tf.Tensor }),
      /^TypeError: state: expected \{ h, c \}, got null/,
    );
    tf.dispose([x, h, c3]);
    cell.dispose();
  });
});
