import * as assert from 'node:assert/strict';
import { BOS, CharVocab, EOS, PAD, TokenVocab, WordVocab } from '../../src/data/vocab';

describe('CharVocab: characters with typed PAD/BOS/EOS', () => {
  it('numbers PAD 0, BOS 1, EOS 2, then the alphabet in order (hand-computed ids)', () => {
    const v = new CharVocab('ab-');
    assert.deepEqual([PAD, BOS, EOS], [0, 1, 2]);
    assert.deepEqual([v.pad, v.bos, v.eos], [0, 1, 2]);
    assert.equal(v.size, 6);
    assert.deepEqual(v.encode('ba-a'), [4, 3, 5, 3]);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((i) => v.token(i)),
      ['<pad>', '<bos>', '<eos>', 'a', 'b', '-'],
    );
    assert.ok(v.has('-') && !v.has('c'));
  });

  it('decodes up to the first EOS, skipping PAD and BOS', () => {
    const v = new CharVocab('ab');
    assert.equal(v.decode([BOS, 3, 4, 3, EOS, 4, PAD]), 'aba');
    assert.equal(v.decode([PAD, 3, PAD, 4]), 'ab');
    assert.equal(v.decode([EOS, 3]), '');
    assert.equal(v.decode(new Int32Array([4, 4, EOS])), 'bb');
    assert.equal(v.decode(v.encode('abba')), 'abba');
  });

  it('throws on an unknown character, naming it and its index', () => {
    const v = new CharVocab('abcdefghijklmnopqrstuvwxyz ');
    assert.throws(() => v.encode('caf\u00e9 noir'), {
      message: /^encode: character "é" at index 3 of "café noir" is not in the vocabulary/,
    });
    // Index in characters, not UTF-16 units.
    assert.throws(
      () => new CharVocab('ab\u{1F600}').encode('a\u{1F600}b?'),
      /character "\?" at index 3 /,
    );
    assert.throws(
      () => v.encode(3 as unknown as string),
      /encode: text: expected a string, got number/,
    );
  });

  it('rejects bad alphabets and ids, naming the argument', () => {
    assert.throws(() => new CharVocab(''), /CharVocab: alphabet: expected at least one character/);
    assert.throws(() => new CharVocab('abca'), /character "a" appears twice \(indices 0 and 3\)/);
    assert.throws(
      () => new CharVocab(['a', 'bc']),
      /expected single characters, got "bc" at index 1/,
    );
    const v = new CharVocab('ab');
    assert.throws(
      () => v.decode([3, 5]),
      /decode: ids\[1\]: expected a token id, an integer in \[0, 5\), got 5/,
    );
    assert.throws(() => v.decode([1.5]), /decode: ids\[0\]: .* got 1.5/);
    assert.throws(() => v.token(-1), /token: id: expected a token id/);
  });

  it('fromTexts collects every character once, in code-point order', () => {
    const v = CharVocab.fromTexts(['ba', 'c a']);
    assert.deepEqual(v.chars, [' ', 'a', 'b', 'c']);
    assert.throws(
      () => CharVocab.fromTexts(['a', 1 as unknown as string]),
      /texts: expected strings, got number at index 1/,
    );
  });
});

describe('WordVocab: words with the same PAD/BOS/EOS', () => {
  it('numbers words after the specials, splits on whitespace, joins with one space', () => {
    const v = new WordVocab(['und', 'sieben', 'neunzig']);
    assert.ok(v instanceof TokenVocab && !(v instanceof CharVocab));
    assert.equal(v.size, 6);
    assert.deepEqual(v.encode('sieben und neunzig'), [4, 3, 5]);
    assert.deepEqual(v.encode('  sieben\tund  neunzig '), [4, 3, 5]);
    assert.equal(v.decode([BOS, 4, 3, 5, EOS, 3]), 'sieben und neunzig');
    assert.equal(v.decode([PAD]), '');
    assert.deepEqual(v.split('a  b'), ['a', 'b']);
    assert.equal(v.token(5), 'neunzig');
    assert.deepEqual(v.words, ['und', 'sieben', 'neunzig']);
  });

  it('names unknown words and bad word lists', () => {
    const v = new WordVocab(['eins', 'zwei']);
    assert.throws(
      () => v.encode('eins drei'),
      /^RangeError: encode: word "drei" at index 1 of "eins drei" is not in the vocabulary \(2 words: "eins", "zwei"\)/,
    );
    assert.throws(() => new WordVocab([]), /WordVocab: words: expected at least one word/);
    assert.throws(() => new WordVocab(['a', 'b c']), /without whitespace, got "b c" at index 1/);
    assert.throws(() => new WordVocab(['a', 'a']), /word "a" appears twice \(indices 0 and 1\)/);
    assert.deepEqual(WordVocab.fromTexts(['b a', 'c a']).words, ['a', 'b', 'c']);
  });
});
