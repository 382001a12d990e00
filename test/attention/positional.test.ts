import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  LearnedPositionalEmbedding,
  addPositionalEncoding,
  sinusoidalEncoding,
} from '../../src/attention/positional';
import { fixture } from '../helpers/fixtures';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

describe('positional encodings', () => {
  for (const [name, maxLen, d] of [
    ['sinusoidal_d8', 12, 8],
    ['sinusoidal_d6', 12, 6],
  ] as const) {
    it(`sinusoids match the PyTorch reference (${name})`, () => {
      expectTensorsClose(sinusoidalEncoding(maxLen, d), fixture(name).outputs.output, {
        atol: 1e-6,
      });
    });
  }

  it('starts with sin(0) = 0 and cos(0) = 1 at position 0, and P[1, 0] = sin(1)', () => {
    const p = sinusoidalEncoding(2, 4).arraySync();
    assert.deepEqual(p[0], [0, 1, 0, 1]);
    assert.ok(Math.abs(p[1][0] - Math.sin(1)) < 1e-7);
    assert.ok(Math.abs(p[1][3] - Math.cos(1 / 100)) < 1e-7); // i = 2: 10000^(2/4) = 100
  });

  it('adds the first T rows to every batch element', () => {
    const x = tf.zeros([2, 3, 4]);
    const out = addPositionalEncoding(x, sinusoidalEncoding(5, 4));
    expectTensorsClose(out.slice([1, 0, 0], [1, 3, 4]).squeeze([0]), sinusoidalEncoding(3, 4));
  });

  it('learned table: shape, small initial scale, trainable and leak-free', async () => {
    const pos = new LearnedPositionalEmbedding({ maxLen: 10, dModel: 4, seed: 1 });
    assert.deepEqual(pos.table.shape, [10, 4]);
    const std = tf.moments(pos.table).variance.sqrt().dataSync()[0];
    assert.ok(std > 0.01 && std < 0.03, `initial std ${std}`);
    const x = tf.ones([2, 3, 4]);
    const { grads } = tf.variableGrads(() => pos.apply(x).sum() as tf.Scalar, pos.variables());
    // d sum / d table: 2 (batch) for the first 3 rows, 0 for the others
    const g = grads[pos.table.name].arraySync() as number[][];
    assert.deepEqual(
      g.map((row) => row[0]),
      [2, 2, 2, 0, 0, 0, 0, 0, 0, 0],
    );
    await expectNoLeak(() => pos.apply(x).dispose());
    pos.dispose();
  });

  const errors: [string, () => unknown, RegExp][] = [
    ['an odd width', () => sinusoidalEncoding(4, 5), /dModel: expected an even width, got 5/],
    [
      'zero positions',
      () => sinusoidalEncoding(0, 4),
      /maxLen: expected an integer >= 1, got number 0/,
    ],
    [
      'a sequence longer than the table',
      () => addPositionalEncoding(tf.zeros([1, 6, 4]), sinusoidalEncoding(5, 4)),
      /x: expected a sequence of at most L = 5 positions, got T = 6/,
    ],
    [
      'a table of another width',
      () => addPositionalEncoding(tf.zeros([1, 2, 4]), sinusoidalEncoding(5, 6)),
      /encoding: expected shape \[L, D\] with D = 4 \(from x\), got \[5, 6\]/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what} with a clear message`, () => assert.throws(thunk, message));
  }
});
