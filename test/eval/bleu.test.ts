import * as assert from 'node:assert/strict';
import {
  bleuFromStats,
  corpusBleu,
  referenceStreams,
  sentenceBleu,
  tokenize13a,
  type BleuOptions,
} from '../../src/eval/bleu';

// Published vectors of sacreBLEU (github.com/mjpost/sacrebleu, tag v2.6.0, commit f615c72).
// Python's sacreBLEU is not installed here: the expected values are copied from its repository,
// the file is named above each block. Hand-computed cases follow at the end.

const TOL = 1e-4;

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) < tol,
    `${what}: expected ${expected} (+-${tol}), got ${actual}`,
  );
}

// README.md ("Using SacreBLEU from Python") and test/test_bleu.py (`_refs`, `_hyps`).
const README_REFS = [
  ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
  ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
];
const README_HYPS = [
  'The dog bit the man.',
  "It wasn't surprising.",
  'The man had just bitten him.',
];

describe('corpusBleu: sacreBLEU README example', () => {
  it('scores 48.530827 with the README line and signature (README.md, test/test_bleu.py)', () => {
    const r = corpusBleu(README_HYPS, README_REFS);
    close(r.score, 48.530827, TOL, 'score');
    assert.equal(
      r.toString(),
      'BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)',
    );
    assert.equal(r.signature, 'nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0');
    // Counted by hand: 13a keeps "wasn't" whole, so the hypotheses have 6 + 4 + 7 = 17 tokens.
    // Unigrams 6 + 2 (It, .) + 6 (all but "just"); bigrams 5 + 0 + 2 (The man, man had);
    // trigrams 4 + 0 + 1 (The man had); 4-grams 3 + 0 + 0. Closest reference lengths 6, 5, 7.
    assert.deepEqual(r.counts, [14, 7, 5, 3]);
    assert.deepEqual(r.totals, [17, 14, 11, 8]);
    assert.equal(r.sysLen, 17);
    assert.equal(r.refLen, 18);
    close(r.bp, Math.exp(1 - 18 / 17), 1e-12, 'bp');
  });

  it('variable references: null drops one (nrefs:var), "" is a reference of length 0 (README.md)', () => {
    // README: BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)
    const expected =
      'BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)';
    const withNull = corpusBleu(README_HYPS, [[null, ...README_REFS[0].slice(1)], README_REFS[1]]);
    assert.equal(withNull.toString(), expected);
    assert.equal(
      withNull.signature,
      'nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0',
    );
    // sacreBLEU 2.x (metrics/base.py `_cache_references`) removes only None; '' stays a
    // (zero-length) reference, so the count stays 2 while the score is the README's.
    const withEmpty = corpusBleu(README_HYPS, [['', ...README_REFS[0].slice(1)], README_REFS[1]]);
    assert.equal(withEmpty.toString(), expected);
    assert.ok(withEmpty.signature.startsWith('nrefs:2|'));
  });
});

describe('corpusBleu: test/test_bleu.py', () => {
  // test_corpus_bleu_cases
  const cases: [string[], BleuOptions, number][] = [
    [README_HYPS, {}, 48.530827],
    [['', '', ''], {}, 0.0],
    [README_HYPS, { tokenize: 'none' }, 49.1919566],
    [README_HYPS, { tokenize: '13a' }, 48.530827],
    [README_HYPS, { tokenize: 'intl' }, 43.91623493],
    [README_HYPS, { smoothMethod: 'none' }, 48.530827],
  ];
  cases.forEach(([hyps, opts, expected], i) => {
    it(`test_corpus_bleu case ${i}: ${JSON.stringify(opts)} -> ${expected}`, () => {
      close(corpusBleu(hyps, README_REFS, opts).score, expected, TOL, 'score');
    });
  });

  // raw_corpus_bleu (sacrebleu/compat.py) = tokenize 'none', smoothing 'floor', effective order.
  // Its default smooth_value is 0.01 in these tests; `'default'` leaves it unset (0.1 inside BLEU).
  const raw = (hyps: string[], refs: string[][], smoothValue: number | 'default' = 0.01) =>
    corpusBleu(hyps, refs, {
      tokenize: 'none',
      smoothMethod: 'floor',
      effectiveOrder: true,
      ...(smoothValue === 'default' ? {} : { smoothValue }),
    });

  it('test_raw_bleu and test_effective_order', () => {
    const rawCases: [string[], string[][], number][] = [
      [['this is a test', 'another test'], [['ref1', 'ref2']], 0.0],
      [['this is a test'], [['this is a test']], 1.0],
      [['this is a fest'], [['this is a test']], 0.223606797749979],
      [['test'], [['a test']], 0.3678794411714425],
      [['a test'], [['a test']], 1.0],
      [['a little test'], [['a test']], 0.03218297948685433],
    ];
    for (const [hyps, refs, expected] of rawCases) {
      close(raw(hyps, refs).score / 100, expected, 1e-8, JSON.stringify(hyps));
    }
  });

  it('test_statistics and test_offset', () => {
    const hyp = ['am I am a character sequence'];
    const ref = [['I am a symbol string sequence a a']];
    const r = raw(hyp, ref);
    assert.deepEqual(r.counts, [4, 2, 1, 0]);
    assert.deepEqual(r.totals, [6, 5, 4, 3]);
    close(raw(hyp, ref, 0).score / 100, 0, 1e-8, 'offset 0');
    close(raw(hyp, ref, 'default').score / 100, 0.1555722182, 1e-8, 'default offset 0.1');
  });

  it('test_scoring: compute_bleu([9,7,5,3], [10,8,6,4], 11, 11) = 0.8375922397', () => {
    const r = bleuFromStats([9, 7, 5, 3], [10, 8, 6, 4], 11, 11, { smoothMethod: 'none' });
    close(r.score / 100, 0.8375922397, 1e-8, 'score');
  });

  it('test_degenerate_statistics: floor smoothing, exactly 0', () => {
    const degenerate: [number[], number[], number, number, number][] = [
      [[0, 0, 0, 0], [4, 4, 2, 1], 0, 1, 0.0],
      [[0, 0, 0, 0], [10, 11, 12, 0], 14, 10, 0.0],
      [[0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.0],
      [[6, 5, 4, 0], [6, 5, 4, 3], 6, 6, 0.0],
      [[0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.1],
      [[0, 0, 0, 0], [0, 0, 0, 0], 1, 5, 0.01],
    ];
    for (const [correct, total, sys, ref, offset] of degenerate) {
      const r = bleuFromStats(correct, total, sys, ref, {
        smoothMethod: 'floor',
        smoothValue: offset,
      });
      assert.equal(r.score, 0, JSON.stringify([correct, total, sys, ref, offset]));
    }
  });

  it('test_max_ngram_order: orders 1..6', () => {
    const expected = ['77.65', '60.50', '53.93', '48.53', '46.14', '43.28'];
    expected.forEach((e, i) => {
      const r = corpusBleu(README_HYPS, README_REFS, { maxNgramOrder: i + 1 });
      assert.equal(r.score.toFixed(2), e, `order ${i + 1}`);
    });
  });
});

describe('sentenceBleu: test/test_sentence_bleu.py', () => {
  // Published with 3-4 decimals; sacreBLEU's own test uses EPSILON = 1e-3 for them.
  const REF = 'producţia de zahăr brut se exprimă în zahăr alb;';
  const SYS = 'Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;';
  const cases: [BleuOptions, number][] = [
    [{ smoothMethod: 'exp' }, 8.493],
    [{ smoothMethod: 'none' }, 0.0],
    [{ smoothMethod: 'floor' }, 4.51688],
    [{ smoothMethod: 'floor', smoothValue: 0.1 }, 4.51688],
    [{ smoothMethod: 'floor', smoothValue: 0.5 }, 10.1],
    [{ smoothMethod: 'add-k' }, 14.882],
    [{ smoothMethod: 'add-k', smoothValue: 1 }, 14.882],
    [{ smoothMethod: 'add-k', smoothValue: 2 }, 21.389],
    [{ tokenize: 'none' }, 7.347],
    [{ tokenize: 'intl' }, 8.493],
    [{ tokenize: 'char' }, 40.8759],
    [{ tokenize: 'char', lowercase: true }, 42.0267],
  ];
  cases.forEach(([opts, expected]) => {
    it(`${JSON.stringify(opts)} -> ${expected}`, () => {
      close(sentenceBleu(SYS, [REF], opts).score, expected, 1e-3, 'score');
    });
  });

  it('no match at all scores 0 with every smoothing (test_api_sentence_bleu_zero)', () => {
    for (const opts of [
      { smoothMethod: 'exp' },
      { smoothMethod: 'none' },
      { smoothMethod: 'floor' },
      { smoothMethod: 'floor', smoothValue: 0.1 },
      { smoothMethod: 'add-k' },
      { smoothMethod: 'add-k', smoothValue: 1 },
    ] as BleuOptions[]) {
      assert.equal(sentenceBleu('this is a cat', ['okay thanks'], opts).score, 0);
    }
  });

  it('signatures name the options like sacreBLEU (metrics/bleu.py BLEUSignature)', () => {
    assert.equal(
      sentenceBleu('a b', ['a b'], { smoothMethod: 'floor' }).signature,
      'nrefs:1|case:mixed|eff:yes|tok:13a|smooth:floor[0.10]|version:2.6.0',
    );
    assert.equal(
      corpusBleu(['a b'], [['a b']], { smoothMethod: 'add-k', lowercase: true, tokenize: 'char' })
        .signature,
      'nrefs:1|case:lc|eff:no|tok:char|smooth:add-k[1.00]|version:2.6.0',
    );
  });
});

describe('tokenize13a', () => {
  // Expected outputs worked out by hand from the rules of tokenizer_13a.py and tokenizer_re.py.
  const cases: [string, string][] = [
    ['Hello, world.', 'Hello , world .'],
    ["It wasn't", "It wasn't"], // ' (0x27) is in no class
    ['pi is 3.14, not 1,000.', 'pi is 3.14 , not 1,000 .'],
    ['pages 5-6 of an e-mail', 'pages 5 - 6 of an e-mail'],
    ['x.y and (a) cost $5!', 'x . y and ( a ) cost $ 5 !'],
    ['&quot;quoted&quot; &amp; &lt;tag&gt;', '" quoted " & < tag >'],
    ['&amp;lt;', '<'], // replaced in sequence (quot, amp, lt, gt), so &amp;lt; ends as <
    ['before <skipped> after', 'before after'],
    ['hyphen-\nated line\nbreak', 'hyphenated line break'],
    ['a\u0085b\u001fc', 'a b c'], // Python whitespace that JavaScript's \s lacks
    ['a\ufeffb', 'a\ufeffb'], // JavaScript whitespace that Python's split keeps
    ['  spaced   out  ', 'spaced out'],
    // Every ASCII character of the first rule's class ({-~, [-`, space-&, (-+, :-@, /).
    [
      'a[b]c\\d^e_f{g|h}i~j"k#l%m&n*o+p:q;r<s=t>u?v@w/x`y!z$',
      'a [ b ] c \\ d ^ e _ f { g | h } i ~ j " k # l % m & n * o + p : q ; r < s = t > u ? v @ w / x ` y ! z $',
    ],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(tokenize13a(input), expected);
    });
  }
});

describe('BLEU, hand-computed', () => {
  it("Papineni's 'the the the ...' example: clipping and exp smoothing", () => {
    // Unigrams: "the" x7, clipped to its 2 occurrences in the reference -> 2/7. Bigrams "the the"
    // x6, trigrams x5, 4-grams x4, none matched: exp smoothing gives 1/(2*6), 1/(4*5), 1/(8*4).
    // Lengths 7 vs 6: no brevity penalty.
    const r = corpusBleu(['the the the the the the the'], [['the cat is on the mat']]);
    const expected =
      100 *
      Math.exp((Math.log(2 / 7) + Math.log(1 / 12) + Math.log(1 / 20) + Math.log(1 / 32)) / 4);
    close(r.score, expected, 1e-9, 'score');
    assert.deepEqual(r.counts, [2, 0, 0, 0]);
    assert.equal(r.bp, 1);
    // Without smoothing a zero precision zeroes the score.
    const none = corpusBleu(['the the the the the the the'], [['the cat is on the mat']], {
      smoothMethod: 'none',
    });
    assert.equal(none.score, 0);
  });

  it('clips by the largest count in any ONE reference, not the sum over references', () => {
    // "x" occurs once in the first reference and twice in the second: max 2 (a sum would give 3).
    const r = corpusBleu(['x x x'], [['x y'], ['x x z']], { maxNgramOrder: 1 });
    assert.equal(r.counts[0], 2);
    close(r.score, (100 * 2) / 3, 1e-9, 'score');
  });

  it('closest reference length, ties to the shorter; brevity penalty exp(1 - r/c)', () => {
    // Hypothesis of 4 tokens, references of 3 and 5: both 1 away -> 3, no penalty.
    const tie = corpusBleu(['a b c d'], [['a b c'], ['a b c d e']], { maxNgramOrder: 1 });
    assert.equal(tie.refLen, 3);
    assert.equal(tie.bp, 1);
    // 2 tokens against 3 and 5: 3 is closer; BP = exp(1 - 3/2); unigram precision 1.
    const short = corpusBleu(['a b'], [['a b c'], ['a b c d e']], { maxNgramOrder: 1 });
    assert.equal(short.refLen, 3);
    close(short.score, 100 * Math.exp(1 - 3 / 2), 1e-9, 'score');
  });

  it('corpus BLEU sums statistics, it is not the mean of sentence BLEU', () => {
    // Segment 1 matches fully (4 tokens), segment 2 not at all (2 tokens, reference of 2).
    // Summed: unigrams 4/6, bigrams 3/4, trigrams 2/2, 4-grams 1/1 (the second segment has no
    // trigrams or 4-grams); lengths 6 vs 6.
    const r = corpusBleu(['a b c d', 'x y'], [['a b c d', 'p q']]);
    const expected =
      100 * Math.exp((Math.log(4 / 6) + Math.log(3 / 4) + Math.log(1) + Math.log(1)) / 4);
    close(r.score, expected, 1e-9, 'score');
    assert.deepEqual(r.totals, [6, 4, 2, 1]);
  });

  it('lowercase folds case (case:lc)', () => {
    assert.equal(corpusBleu(['The Cat'], [['the cat']]).counts[0], 0);
    const lc = corpusBleu(['The Cat'], [['the cat']], { lowercase: true });
    assert.deepEqual(lc.counts.slice(0, 2), [2, 1]);
    assert.ok(lc.signature.includes('case:lc'));
  });
});

describe('referenceStreams', () => {
  it('transposes per-segment reference lists into streams, null where a segment has fewer', () => {
    assert.deepEqual(referenceStreams([['a', 'b'], ['c'], ['d', 'e', 'f']]), [
      ['a', 'c', 'd'],
      ['b', null, 'e'],
      [null, null, 'f'],
    ]);
    assert.throws(
      () => referenceStreams([]),
      /referenceStreams: perSegment: expected a non-empty array/,
    );
    assert.throws(
      () => referenceStreams([['a'], []]),
      /referenceStreams: perSegment\[1\]: expected a non-empty array of strings, got an empty array/,
    );
  });
});

describe('BLEU input validation', () => {
  it('names the argument, what was expected and what was got', () => {
    assert.throws(
      () =>
        corpusBleu(
          ['a', 'b', 'c'],
          [
            ['a', 'b', 'c'],
            ['a', 'b'],
          ],
        ),
      /corpusBleu: references\[1\]: expected 3 segments \(one per hypothesis\), got 2/,
    );
    assert.throws(
      () => corpusBleu(['a'], ['a'] as unknown as string[][]),
      /corpusBleu: references\[0\]: expected a stream .* got a string/,
    );
    assert.throws(() => corpusBleu([], [[]]), /corpusBleu: hypotheses: expected a non-empty array/);
    assert.throws(
      () => corpusBleu(['a', null as unknown as string], [['a', 'b']]),
      /corpusBleu: hypotheses\[1\]: expected a string, got null/,
    );
    assert.throws(
      () => corpusBleu(['a'], [[null], [null]]),
      /corpusBleu: references: segment 0 has no reference/,
    );
    assert.throws(
      () => corpusBleu(['a'], [['a']], { smoothMethod: 'add-one' as 'add-k' }),
      /corpusBleu: opts.smoothMethod: expected one of 'exp', 'floor', 'add-k', 'none', got "add-one"/,
    );
    assert.throws(
      () => corpusBleu(['a'], [['a']], { smoothValue: -1 }),
      /opts.smoothValue: expected a finite number >= 0, got -1/,
    );
    assert.throws(
      () => corpusBleu(['a'], [['a']], { maxNGramOrder: 3 } as BleuOptions),
      /corpusBleu: opts.maxNGramOrder: unknown option/,
    );
    assert.throws(
      () => sentenceBleu('a', 'a' as unknown as string[]),
      /sentenceBleu: references: expected an array of reference strings, got a string/,
    );
    assert.throws(
      () => bleuFromStats([1, 0, 0], [1, 0, 0, 0], 1, 1),
      /bleuFromStats: correct: expected an array of 4 counts/,
    );
    assert.throws(
      () => bleuFromStats([2, 0, 0, 0], [1, 0, 0, 0], 1, 1),
      /bleuFromStats: correct\[0\]: expected at most total\[0\] = 1 matches, got 2/,
    );
  });
});
