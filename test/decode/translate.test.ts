import * as assert from 'node:assert/strict';
import { CharVocab, WordVocab } from '../../src/data/vocab';
import { greedyExactMatch, translate } from '../../src/decode/translate';
import { CopyDecoder } from '../helpers/copy-decoder';
import { expectNoLeak } from '../helpers/tensors';

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
