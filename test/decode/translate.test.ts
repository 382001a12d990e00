import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { CharVocab, EOS, BOS, WordVocab } from '../../src/data/vocab';
import { greedyExactMatch, translate } from '../../src/decode/translate';
import type { DecoderStep, StepDecoder } from '../../src/decode/step-decoder';
import { expectNoLeak } from '../helpers/tensors';

type CopyState = { src: tf.Tensor2D; lens: tf.Tensor1D; t: tf.Tensor1D };

/**
 * A decoder that copies its source, one character per step, then writes `EOS`; it writes the
 * id `wrongFor` as the id after it (a wrong character) wherever the source has it. Its weights are
 * one-hot on the position it copies.
 */
class CopyDecoder implements StepDecoder<CopyState> {
  readonly bos = BOS;
  readonly eos = EOS;
  constructor(
    readonly vocabSize: number,
    readonly wrongFor = -1,
  ) {}

  start(src: tf.Tensor2D, srcValidLens?: tf.Tensor1D): CopyState {
    const lens = srcValidLens ?? tf.fill([src.shape[0]], src.shape[1], 'int32');
    return {
      src: src.clone(),
      lens: lens.clone() as tf.Tensor1D,
      t: tf.zeros([src.shape[0]], 'int32'),
    };
  }

  step(_prev: tf.Tensor1D, state: CopyState): DecoderStep<CopyState> {
    return tf.tidy(() => {
      const srcLen = state.src.shape[1];
      const at = tf.oneHot(state.t, srcLen).toFloat() as tf.Tensor2D; // [B, S]
      const ids = tf.sum(tf.mul(state.src.toFloat(), at), 1).toInt(); // [B]
      const wrong = tf.where(tf.equal(ids, this.wrongFor), tf.add(ids, tf.scalar(1, 'int32')), ids);
      const next = tf.where(tf.less(state.t, state.lens), wrong, tf.fill(ids.shape, EOS, 'int32'));
      const logits = tf.mul(tf.oneHot(next as tf.Tensor1D, this.vocabSize).toFloat(), 10);
      return {
        logits: logits as tf.Tensor2D,
        state: {
          src: state.src.clone(),
          lens: state.lens.clone(),
          t: tf.add(state.t, tf.scalar(1, 'int32')) as tf.Tensor1D,
        },
        weights: at,
      };
    }) as DecoderStep<CopyState>;
  }
}

describe('translate and greedyExactMatch', () => {
  const vocab = new CharVocab('0123456789');
  const opts = { source: vocab, target: vocab, maxLen: 8 };

  it('returns the texts a copying decoder writes, with tokens and weights cut to each text', () => {
    const t = translate(new CopyDecoder(vocab.size), ['123', '4', '90'], opts);
    assert.deepEqual(t.outputs, ['123', '4', '90']);
    assert.deepEqual(t.tokens[1], ['4', '<eos>']);
    // step 0 copies position 0, step 1 position 1, the EOS step looks at position 2 (out of range)
    assert.deepEqual(t.weights![2], [
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
  });

  it('counts exact matches by hand and does not depend on the batch size', () => {
    // the id of '5' is 3 + 5 = 8; the decoder writes '6' for it: sources with a 5 come out wrong
    const decoder = new CopyDecoder(vocab.size, vocab.encode('5')[0]);
    const pairs = ['12', '35', '777', '5', '908'].map((s) => ({ source: s, target: s }));
    assert.equal(greedyExactMatch(decoder, pairs, opts), 3 / 5);
    assert.equal(greedyExactMatch(decoder, pairs, { ...opts, batchSize: 2 }), 3 / 5);
    assert.deepEqual(translate(decoder, ['35'], opts).outputs, ['36']);
  });

  it("works with word vocabularies: weights cut to each text's words; any reference matches", () => {
    const words = new WordVocab(['hundert', 'ein', 'eins', 'tausend']);
    const wopts = { source: words, target: words, maxLen: 6 };
    const t = translate(new CopyDecoder(words.size), ['ein hundert eins', 'tausend'], wopts);
    assert.deepEqual(t.outputs, ['ein hundert eins', 'tausend']);
    assert.deepEqual(t.tokens[0], ['ein', 'hundert', 'eins', '<eos>']);
    assert.deepEqual(
      t.weights![1].map((row) => row.length),
      [1, 1],
    );
    // The copy writes the long form: wrong against the short target alone, right with references.
    const pair = { source: 'ein hundert eins', target: 'hundert eins' };
    assert.equal(greedyExactMatch(new CopyDecoder(words.size), [pair], wopts), 0);
    const withRefs = { ...pair, references: ['hundert eins', 'ein hundert eins'] };
    assert.equal(greedyExactMatch(new CopyDecoder(words.size), [withRefs, pair], wopts), 1 / 2);
  });

  it('leaves no tensors behind', () => {
    const decoder = new CopyDecoder(vocab.size);
    expectNoLeak(() => greedyExactMatch(decoder, [{ source: '42', target: '42' }], opts));
  });

  it('names the bad argument', () => {
    const decoder = new CopyDecoder(vocab.size);
    assert.throws(() => translate(decoder, ['1a'], opts), /character "a" at index 1 of "1a"/);
    assert.throws(() => translate(decoder, [], opts), /texts: expected a non-empty array/);
    assert.throws(
      () => translate(decoder, ['1'], { ...opts, target: 'digits' as unknown as CharVocab }),
      /target: expected a CharVocab or a WordVocab, got string/,
    );
    assert.throws(() => greedyExactMatch(decoder, [], opts), /pairs: expected a non-empty array/);
    assert.throws(() => translate(decoder, ['1'], { ...opts, maxLen: 0 }), /maxLen/);
  });
});
