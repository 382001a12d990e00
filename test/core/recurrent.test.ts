import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { parameter } from '../../src/core/module';
import { GRU, LSTM } from '../../src/core/recurrent';
import { ft } from '../helpers/fixtures';
import { recurrentFixture, torchParams, weightedSum } from '../helpers/recurrent-fixtures';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

const close = { atol: 1e-5, rtol: 1e-5 };

describe('GRU and LSTM sequence layers', () => {
  for (const name of ['gru_uni', 'gru_bi', 'lstm_uni', 'lstm_bi']) {
    it(`${name}: equals torch.nn on a packed padded batch, values and gradients (PyTorch, 1e-5)`, async () => {
      const c = recurrentFixture(name);
      const isLstm = name.startsWith('lstm');
      const config = {
        inputSize: c.config.inputSize as number,
        hiddenSize: c.config.hiddenSize as number,
        bidirectional: c.config.bidirectional as boolean,
      };
      await expectNoLeak(() => {
        const layer = isLstm ? new LSTM(config) : new GRU(config);
        const p = torchParams(c);
        layer.fromTorch(p);
        const x = parameter(ft(c.inputs.x));
        const validLens = ft(c.inputs.validLens);
        const h0 = c.inputs.h0 ? parameter(ft(c.inputs.h0)) : null;
        const c0 = c.inputs.c0 ? parameter(ft(c.inputs.c0)) : null;
        const run = (): Record<string, tf.Tensor> => {
          if (layer instanceof LSTM) {
            const initialState = h0 && c0 ? { h: h0, c: c0 } : undefined;
            return { ...layer.apply(x, { validLens, initialState }) };
          }
          return { ...(layer as GRU).apply(x, { validLens, initialState: h0 ?? undefined }) };
        };
        const result = run();
        for (const key of Object.keys(c.outputs)) {
          expectTensorsClose(result[key], c.outputs[key], { ...close, label: key });
        }
        // Every variable of the layer by its dotted path (forward.wX, backward.bH, ...), plus inputs.
        const vars: Record<string, tf.Variable> = Object.fromEntries(layer.namedVariables());
        vars.x = x;
        if (h0) vars.h0 = h0;
        if (c0) vars.c0 = c0;
        assert.deepEqual(Object.keys(vars).sort(), Object.keys(c.grads).sort());
        const { value, grads } = tf.variableGrads(() => weightedSum(c, run()), Object.values(vars));
        for (const [key, v] of Object.entries(vars)) {
          expectTensorsClose(grads[v.name], c.grads[key], { ...close, label: `grad ${key}` });
        }
        tf.dispose([Object.values(p), Object.values(result), x, validLens, value, grads]);
        tf.dispose([h0, c0].filter((t): t is tf.Variable => t !== null));
        layer.dispose();
      }, name);
    });
  }

  it('gives a padded sequence the same outputs and final state as the same sequence alone', () => {
    const layer = new GRU({ inputSize: 3, hiddenSize: 4, bidirectional: true, seed: 5 });
    tf.tidy(() => {
      const x = tf.randomUniform([3, 5, 3], -1, 1, 'float32', 7);
      const lens = tf.tensor1d([5, 2, 4], 'int32');
      const padded = layer.apply(x, { validLens: lens });
      [5, 2, 4].forEach((len, b) => {
        const alone = layer.apply(x.slice([b, 0, 0], [1, len, 3])); // no padding at all
        expectTensorsClose(padded.outputs.slice([b, 0, 0], [1, len, 8]), alone.outputs, {
          label: `outputs of sequence ${b}`,
        });
        expectTensorsClose(padded.final.slice([b, 0], [1, 8]), alone.final, {
          label: `final of sequence ${b}`,
        });
        if (len < 5) {
          // padded steps give exactly zero outputs
          const rest = padded.outputs.slice([b, len, 0], [1, 5 - len, 8]);
          assert.equal(tf.abs(rest).max().arraySync(), 0);
        }
      });
      // validLens = S everywhere is the same as no validLens
      const full = layer.apply(x, { validLens: tf.tensor1d([5, 5, 5], 'float32') });
      expectTensorsClose(full.outputs, layer.apply(x).outputs, { label: 'full lengths' });
    });
    layer.dispose();
  });

  it('keeps the initial state of an empty sequence (length 0): zero outputs, identity gradient', () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, bidirectional: true, seed: 8 });
    tf.tidy(() => {
      const x = tf.randomUniform([2, 3, 2], -1, 1, 'float32', 9);
      const h0 = tf.randomUniform([2, 6], -1, 1, 'float32', 10);
      const c0 = tf.randomUniform([2, 6], -1, 1, 'float32', 11);
      const validLens = tf.tensor1d([3, 0], 'int32');
      const r = lstm.apply(x, { validLens, initialState: { h: h0, c: c0 } });
      expectTensorsClose(r.final.slice([1, 0], [1, 6]), h0.slice([1, 0], [1, 6]));
      expectTensorsClose(r.finalCell.slice([1, 0], [1, 6]), c0.slice([1, 0], [1, 6]));
      assert.equal(
        tf
          .abs(r.outputs.slice([1, 0, 0], [1, 3, 6]))
          .max()
          .arraySync(),
        0,
      );
      // d sum(final) / d h0 is 1 for the empty sequence: its state passes through unchanged
      const g = tf.grad((h: tf.Tensor) =>
        lstm.apply(x, { validLens, initialState: { h, c: c0 } }).final.sum(),
      )(h0);
      expectTensorsClose(g.slice([1, 0], [1, 6]), [[1, 1, 1, 1, 1, 1]]);
    });
    lstm.dispose();
  });

  it('equals stepping its cell by hand (the single-step path a decoder uses)', () => {
    const gru = new GRU({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 2 });
    tf.tidy(() => {
      const x = tf.randomUniform([2, 4, 2], -1, 1, 'float32', 3);
      let h = tf.zeros([2, 3]);
      let state = { h: tf.zeros([2, 3]), c: tf.zeros([2, 3]) };
      const gruSeq = gru.apply(x);
      const lstmSeq = lstm.apply(x);
      for (let t = 0; t < 4; t++) {
        const xt = x.slice([0, t, 0], [2, 1, 2]).reshape([2, 2]);
        h = gru.forward.step(xt, h);
        state = lstm.forward.step(xt, state);
        expectTensorsClose(gruSeq.outputs.slice([0, t, 0], [2, 1, 3]).reshape([2, 3]), h);
        expectTensorsClose(lstmSeq.outputs.slice([0, t, 0], [2, 1, 3]).reshape([2, 3]), state.h);
      }
      expectTensorsClose(gruSeq.final, h);
      expectTensorsClose((lstmSeq as { finalCell: tf.Tensor }).finalCell, state.c);
    });
    gru.dispose();
    lstm.dispose();
  });

  it('names its variables by direction and counts them as PyTorch does', () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 2, bidirectional: true });
    assert.deepEqual(
      gru.namedVariables().map(([n]) => n),
      [
        'forward.wX',
        'forward.wH',
        'forward.bX',
        'forward.bH',
        'backward.wX',
        'backward.wH',
        'backward.bX',
        'backward.bH',
      ],
    );
    // nn.GRU(3, 2, bidirectional=True): 2 * 3 * (3*2 + 2*2 + 2 + 2) = 84
    assert.equal(gru.numParameters(), 84);
    // the two directions start from different weights
    assert.notDeepEqual(gru.forward.wX.arraySync(), gru.backward!.wX.arraySync());
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 2 });
    assert.equal(lstm.numParameters(), 56); // nn.LSTM(3, 2): 4 * (6 + 4 + 2 + 2)
    gru.dispose();
    lstm.dispose();
  });

  it('rejects bad inputs, lengths, states and PyTorch weights with messages naming them', () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 2, bidirectional: true });
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 2 });
    const x = tf.zeros([2, 4, 3]);
    const bad: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => (bad.push(t), t);
    assert.throws(
      () => gru.apply(keep(tf.zeros([2, 4, 5]))),
      /^Error: x: expected shape \[B, S, 3\], got \[2, 4, 5\]/,
    );
    assert.throws(
      () => gru.apply(x, { validLens: keep(tf.tensor1d([4, 5], 'int32')) }),
      /^RangeError: validLens: expected integers in \[0, S\] = \[0, 4\].*got 5 at index 1/,
    );
    assert.throws(
      () => gru.apply(x, { validLens: keep(tf.tensor1d([4, 1.5])) }),
      /validLens: expected integers in \[0, S\] = \[0, 4\].*got 1.5 at index 1/,
    );
    assert.throws(
      () => gru.apply(x, { validLens: keep(tf.tensor1d([4, 4, 4], 'int32')) }),
      /^Error: validLens: expected shape \[2\], got \[3\]/,
    );
    assert.throws(
      () => gru.apply(x, { initialState: keep(tf.zeros([2, 2])) }),
      /^Error: initialState: expected shape \[B, 4\], got \[2, 2\]/,
    );
    assert.throws(
      () =>
        lstm.apply(x, { initialState: { h: keep(tf.zeros([2, 2])), c: keep(tf.zeros([3, 2])) } }),
      /^Error: initialState.c: expected shape \[B, 2\] with B = 2 \(from x\), got \[3, 2\]/,
    );
    assert.throws(
      () => lstm.fromTorch({ weight_ih_l0: keep(tf.zeros([8, 3])) }),
      /^Error: stateDict: expected exactly weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0; missing \[weight_hh_l0, bias_ih_l0, bias_hh_l0\], unexpected \[\]/,
    );
    assert.throws(
      () => new GRU({ inputSize: 3, hiddenSize: 2, bidirectional: 'yes' as unknown as boolean }),
      /^TypeError: bidirectional: expected true or false, got yes/,
    );
    tf.dispose([x, ...bad]);
    gru.dispose();
    lstm.dispose();
  });
});
