import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { greedyDecode } from '../../src/decode/greedy';
import { tableDecoder, tableDecoderStart, tableDecoderStep } from '../../src/decode/table-decoder';
import { expectNoLeak } from '../helpers/tensors';

describe('table decoder (the hand-made decoder of exercise 03.3)', () => {
  it('greedy decoding follows each table by hand: 0 -> 3 -> 4 -> 1 and 0 -> 1', async () => {
    const src = tf.tensor2d(
      [
        [3, 5, 0, 4, 1, 0],
        [1, 2, 3, 3, 3, 3],
      ],
      undefined,
      'int32',
    );
    await expectNoLeak(() => {
      const out = greedyDecode(tableDecoder({ bos: 0, eos: 1 }), src, { maxLen: 10 });
      assert.deepEqual(out.tokens, [[3, 4, 1], [1]]);
      assert.deepEqual(out.finished, [true, true]);
      // logits 20 at the chosen token, 0 at the 5 others: log p = 20 - log(e^20 + 5)
      const lp = 20 - Math.log(Math.exp(20) + 5);
      assert.ok(Math.abs(out.logProb[1] - lp) < 1e-6, String(out.logProb));
    });
    src.dispose();
  });

  it('step gives logits [B, V] with the table entry of prev, and leaves its input state intact', async () => {
    const src = tf.tensor2d([[2, 0, 1]], undefined, 'int32');
    const state = tableDecoderStart(src);
    const prev = tf.tensor1d([2], 'int32');
    await expectNoLeak(() => {
      const out = tableDecoderStep(prev, state);
      assert.deepEqual(out.logits.arraySync(), [[0, 20, 0]]);
      tf.dispose([out.logits, out.state.table]);
    });
    assert.deepEqual(state.table.arraySync(), [[2, 0, 1]]);
    tf.dispose([src, state.table, prev]);
  });

  it('names the argument on bad input', () => {
    const src = tf.tensor2d([[0, 7]], undefined, 'int32');
    assert.throws(
      () => tableDecoderStart(src),
      /tableDecoderStart: src: expected next tokens in \[0, 2\).*got 7/,
    );
    const f = tf.tensor2d([[0, 1]]);
    assert.throws(() => tableDecoderStart(f as tf.Tensor2D), /src/);
    const ok = tf.tensor2d([[0, 1]], undefined, 'int32');
    assert.throws(
      () => tableDecoderStep(tf.tensor1d([5], 'int32'), { table: ok }),
      /tableDecoderStep: prev: expected tokens in \[0, 2\), got 5/,
    );
    assert.throws(() => tableDecoder(null as never), /tokens: expected/);
    tf.dispose([src, f, ok]);
  });
});
