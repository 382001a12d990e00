import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { localWindowMask } from '../../src/attention/local';
import { markovDecoder } from '../../src/decode/table-decoder';
import { expectNoLeak } from '../helpers/tensors';

describe('markovDecoder (the hand-made decoder of the beam-search tests)', () => {
  const A = [
    [0, 0.5, 0.5],
    [0, 1, 0],
    [0.25, 0.25, 0.5],
  ];
  const B = [
    [0, 0, 1],
    [1, 0, 0],
    [0.1, 0.6, 0.3],
  ];

  it('gives log tables[src[b][0]][prev[b]] as logits, row by row', async () => {
    const d = markovDecoder([A, B], { bos: 0, eos: 1 });
    assert.equal(d.bos, 0);
    assert.equal(d.eos, 1);
    const src = tf.tensor2d([[1], [0], [1]], undefined, 'int32');
    const prev = tf.tensor1d([2, 0, 0], 'int32');
    await expectNoLeak(() => {
      tf.tidy(() => {
        const out = d.step(prev, d.start(src));
        const got = out.logits.arraySync();
        const want = [B[2], A[0], B[0]].map((row) => row.map(Math.log));
        got.forEach((row, b) =>
          row.forEach((x, v) => {
            if (want[b][v] === -Infinity) assert.equal(x, -Infinity, `[${b}, ${v}]`);
            else assert.ok(Math.abs(x - want[b][v]) < 1e-6, `[${b}, ${v}]: ${x} vs ${want[b][v]}`);
          }),
        );
      });
    }, 'markov step');
    tf.dispose([src, prev]);
  });

  it('checks its tables and its source, naming them', () => {
    assert.throws(() => markovDecoder([]), /tables: expected a non-empty array/);
    assert.throws(
      () =>
        markovDecoder([
          [
            [0.5, 0.6],
            [1, 0],
          ],
        ]),
      /tables\[0\]\[0\]: expected 2 probabilities >= 0 summing to 1, got \[0.5,0.6\]/,
    );
    assert.throws(() => markovDecoder([A, [[1]]]), /tables\[1\]: expected 3 rows \(V\), got 1/);
    const src = tf.tensor2d([[2]], undefined, 'int32');
    assert.throws(
      () => markovDecoder([A, B]).start(src),
      /src: expected table indices in \[0, 2\), got 2/,
    );
    src.dispose();
  });
});

describe('localWindowMask (the window of local attention)', () => {
  it('is 1 where |s - p| <= Dw and s < L, 0 elsewhere (truncated at both edges)', () => {
    tf.tidy(() => {
      const p = tf.tensor2d([[0.4], [3.5]]); // [B, T] = [2, 1]
      const lens = tf.tensor2d([[6], [4]]); // [B, 1]
      const got = localWindowMask(p, lens, 6, 1).arraySync();
      // |s - 0.4| <= 1: s in {0, 1}; |s - 3.5| <= 1: s in {3, 4}, but L = 4 cuts 4
      assert.deepEqual(got, [[[1, 1, 0, 0, 0, 0]], [[0, 0, 0, 1, 0, 0]]]);
      assert.throws(
        () => localWindowMask(p, lens, 6, -1),
        /window: expected a number >= 0, got -1/,
      );
      assert.throws(
        () => localWindowMask(p, lens.toInt(), 6, 1),
        /lens: expected dtype float32, got int32/,
      );
    });
  });
});
