import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Module, parameter } from '../../src/core/module';
import { encodeSources, seq2seqDataset, type Seq2SeqBatch } from '../../src/data/batches';
import { dateVocabs } from '../../src/data/dates';
import { BOS, CharVocab, EOS, PAD } from '../../src/data/vocab';
import { fit } from '../../src/train/fit';
import { maskedCrossEntropy } from '../../src/train/losses';
import { expectNoLeak } from '../helpers/tensors';

const read = (b: Seq2SeqBatch): Record<keyof Seq2SeqBatch, unknown> => ({
  src: b.src.arraySync(),
  srcLens: b.srcLens.arraySync(),
  tgtIn: b.tgtIn.arraySync(),
  tgtOut: b.tgtOut.arraySync(),
  tgtLens: b.tgtLens.arraySync(),
});

describe('seq2seq batches', () => {
  // source vocab: a=3 b=4 c=5; target vocab: x=3 y=4
  const src = new CharVocab('abc');
  const tgt = new CharVocab('xy');
  const pairs = [
    { source: 'abc', target: 'y' },
    { source: 'b', target: 'xyx' },
    { source: 'ca', target: 'xx' },
  ];

  it('pads sources and BOS/EOS-shifted targets with PAD, all int32 (hand-written batch)', async () => {
    const data = seq2seqDataset(pairs, { sourceVocab: src, targetVocab: tgt });
    assert.equal(data.size, 3);
    await expectNoLeak(() => {
      const b = data.batch([1, 0]);
      for (const [k, t] of Object.entries(b)) assert.equal((t as tf.Tensor).dtype, 'int32', k);
      assert.deepEqual(read(b), {
        src: [
          [4, PAD, PAD],
          [3, 4, 5],
        ],
        srcLens: [1, 3],
        tgtIn: [
          [BOS, 3, 4, 3],
          [BOS, 4, PAD, PAD],
        ],
        tgtOut: [
          [3, 4, 3, EOS],
          [4, EOS, PAD, PAD],
        ],
        tgtLens: [4, 2],
      });
      tf.dispose(b);
    }, 'batch');
    // A batch is only as long as its own longest sequences.
    const one = data.batch([2]);
    assert.deepEqual(read(one), {
      src: [[5, 3]],
      srcLens: [2],
      tgtIn: [[BOS, 3, 3]],
      tgtOut: [[3, 3, EOS]],
      tgtLens: [3],
    });
    tf.dispose(one);
  });

  it('shares one vocabulary when no target vocabulary is given', () => {
    const data = seq2seqDataset([{ source: 'ab', target: 'ba' }], { sourceVocab: src });
    const b = data.batch([0]);
    assert.deepEqual(b.tgtOut.arraySync(), [[4, 3, EOS]]);
    assert.equal(data.targetVocab, src);
    tf.dispose(b);
  });

  it('rejects bad pairs, vocabularies and indices, naming them', () => {
    const v = { sourceVocab: src, targetVocab: tgt };
    assert.throws(() => seq2seqDataset([], v), /seq2seqDataset: pairs: expected a non-empty array/);
    assert.throws(
      () => seq2seqDataset([...pairs, { source: 'ad', target: 'x' }], v),
      /seq2seqDataset: pairs\[3\]: encode: character "d" at index 1 of "ad" is not in the vocabulary/,
    );
    assert.throws(
      () => seq2seqDataset([{ source: 'a', target: '' }], v),
      /pairs\[0\]\.target: expected a non-empty string, got ""/,
    );
    assert.throws(
      () => seq2seqDataset(pairs, { sourceVocab: 'abc' as unknown as CharVocab }),
      /seq2seqDataset: sourceVocab: expected a CharVocab or a WordVocab, got string/,
    );
    const data = seq2seqDataset(pairs, v);
    assert.throws(
      () => data.batch([0, 3]),
      /Seq2SeqDataset\.batch: indices\[1\]: expected an integer in \[0, 3\), got 3/,
    );
    assert.throws(() => data.batch([]), /indices: expected a non-empty array/);
  });

  it('encodes typed text for inference, and names an unknown character', async () => {
    await expectNoLeak(() => {
      const { src: s, srcLens } = encodeSources(['cab', 'a'], src);
      assert.deepEqual(s.arraySync(), [
        [5, 3, 4],
        [3, PAD, PAD],
      ]);
      assert.deepEqual(srcLens.arraySync(), [3, 1]);
      assert.equal(s.dtype, 'int32');
      tf.dispose([s, srcLens]);
    }, 'encodeSources');
    const sourceVocab = dateVocabs().source;
    assert.throws(() => encodeSources(['3 July 2021', '4 ao\u00fbt 2021'], sourceVocab), {
      message:
        /^encodeSources: texts\[1\]: encode: character "û" at index 4 of "4 août 2021" is not in the vocabulary/,
    });
    assert.throws(() => encodeSources([], src), /encodeSources: texts: expected a non-empty array/);
    assert.throws(
      () => encodeSources([''], src),
      /encodeSources: texts\[0\]: expected a non-empty string/,
    );
  });

  it('feeds fit() and maskedCrossEntropy: a per-token bias learns the target distribution', async () => {
    // The smallest model: logits = a learned bias over the target vocabulary at every step.
    class Bias extends Module {
      readonly bias = parameter(tf.zeros([tgt.size]));
    }
    const model = new Bias();
    const data = seq2seqDataset(pairs, { sourceVocab: src, targetVocab: tgt });
    await expectNoLeak(async () => {
      await fit({
        model,
        data,
        batchSize: 3,
        steps: 60,
        lr: 0.1,
        progress: false,
        loss: (b: Seq2SeqBatch, m: Bias) => {
          const [batch, len] = b.tgtOut.shape;
          const logits = tf.broadcastTo(m.bias, [batch, len, tgt.size]); // [V] -> [B, T, V]
          return maskedCrossEntropy(logits, b.tgtOut, { validLens: b.tgtLens });
        },
      });
    }, 'fit');
    // Real target steps: y EOS | x y x EOS | x x EOS -> x 4, y 2, EOS 3 of 9; PAD never counts.
    const p = tf.tidy(() => tf.softmax(model.bias).arraySync() as number[]);
    const expected = [0, 0, 3 / 9, 4 / 9, 2 / 9];
    assert.ok(p[PAD] < 0.02 && p[BOS] < 0.02, `PAD/BOS probability ${p[PAD]}, ${p[BOS]}`);
    for (const id of [EOS, 3, 4]) {
      assert.ok(
        Math.abs(p[id] - expected[id]) < 0.03,
        `p[${id}] = ${p[id]}, expected ${expected[id]}`,
      );
    }
    model.dispose();
  });
});
