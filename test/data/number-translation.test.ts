import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { seq2seqDataset } from '../../src/data/batches';
import {
  NUMBER_MAX,
  NUMBER_MAX_SOURCE_WORDS,
  NUMBER_MAX_TARGET_WORDS,
  englishNumber,
  germanNumber,
  germanNumberForms,
  makeNumberData,
  numberSplits,
  numberVocabs,
} from '../../src/data/number-translation';
import { BOS, EOS, PAD } from '../../src/data/vocab';
import { translate } from '../../src/decode/translate';
import { corpusBleu, referenceStreams } from '../../src/eval/bleu';
import { BahdanauSeq2Seq } from '../../src/models/bahdanau';
import { maskedCrossEntropy } from '../../src/train/losses';
import { expectNoLeak } from '../helpers/tensors';

// Written by hand from German spelling (Duden: "siebenundneunzig", "einhundert"/"hundert",
// "hunderteins", "zweitausendeinundzwanzig"), compounds split into their spoken parts.
const TABLE: [number, string, string[]][] = [
  [0, 'zero', ['null']],
  [1, 'one', ['eins']],
  [7, 'seven', ['sieben']],
  [11, 'eleven', ['elf']],
  [12, 'twelve', ['zwölf']],
  [16, 'sixteen', ['sechzehn']],
  [17, 'seventeen', ['siebzehn']],
  [20, 'twenty', ['zwanzig']],
  [21, 'twenty one', ['ein und zwanzig']],
  [30, 'thirty', ['dreißig']],
  [70, 'seventy', ['siebzig']],
  [97, 'ninety seven', ['sieben und neunzig']],
  [100, 'one hundred', ['hundert', 'ein hundert']],
  [101, 'one hundred one', ['hundert eins', 'ein hundert eins']],
  [115, 'one hundred fifteen', ['hundert fünfzehn', 'ein hundert fünfzehn']],
  [342, 'three hundred forty two', ['drei hundert zwei und vierzig']],
  [1000, 'one thousand', ['tausend', 'ein tausend']],
  [1001, 'one thousand one', ['tausend eins', 'ein tausend eins']],
  [
    1100,
    'one thousand one hundred',
    ['tausend hundert', 'tausend ein hundert', 'ein tausend hundert', 'ein tausend ein hundert'],
  ],
  [2021, 'two thousand twenty one', ['zwei tausend ein und zwanzig']],
  [21000, 'twenty one thousand', ['ein und zwanzig tausend']],
  [
    101001,
    'one hundred one thousand one',
    ['hundert ein tausend eins', 'ein hundert ein tausend eins'],
  ],
  [
    999999,
    'nine hundred ninety nine thousand nine hundred ninety nine',
    ['neun hundert neun und neunzig tausend neun hundert neun und neunzig'],
  ],
];

describe('number translation: English words -> German words', () => {
  it('translates the hand-checked table, short form first', () => {
    for (const [n, en, de] of TABLE) {
      assert.equal(englishNumber(n), en, `englishNumber(${n})`);
      assert.deepEqual(germanNumberForms(n), de, `germanNumberForms(${n})`);
      assert.equal(germanNumber(n), de[0], `germanNumber(${n})`);
    }
  });

  it('reorders units before tens: the English bigram "ninety seven" comes out reversed', () => {
    for (let tens = 2; tens <= 9; tens++) {
      for (let unit = 2; unit <= 9; unit++) {
        const [enTens, enUnit] = englishNumber(tens * 10 + unit).split(' ');
        assert.equal(englishNumber(unit), enUnit);
        assert.equal(englishNumber(tens * 10), enTens);
        assert.equal(
          germanNumber(tens * 10 + unit),
          `${germanNumber(unit)} und ${germanNumber(tens * 10)}`,
        );
      }
    }
  });

  it('every word of 0..2,999 and every 97th number up to 999,999 is in the vocabularies; forms are distinct', () => {
    const { source, target } = numberVocabs();
    const enSeen = new Set<string>();
    const deSeen = new Set<string>();
    let maxEn = 0;
    let maxDe = 0;
    for (let n = 0; n <= NUMBER_MAX; n += n < 3000 ? 1 : 97) {
      for (const w of source.split(englishNumber(n))) enSeen.add(w);
      const forms = germanNumberForms(n);
      assert.equal(new Set(forms).size, forms.length, `forms of ${n}`);
      assert.ok(forms.length >= 1 && forms.length <= 4, `${forms.length} forms of ${n}`);
      for (const f of forms) for (const w of target.split(f)) deSeen.add(w);
      maxEn = Math.max(maxEn, source.split(englishNumber(n)).length);
      for (const f of forms) maxDe = Math.max(maxDe, target.split(f).length);
    }
    // The longest numbers (every group 7x7 or 1x1 with all optional words) reach the bounds.
    for (const n of [777777, 121121, 373373]) {
      maxEn = Math.max(maxEn, source.split(englishNumber(n)).length);
      for (const f of germanNumberForms(n)) maxDe = Math.max(maxDe, target.split(f).length);
    }
    assert.equal(maxEn, NUMBER_MAX_SOURCE_WORDS);
    assert.equal(maxDe, NUMBER_MAX_TARGET_WORDS);
    // Every vocabulary word occurs (none is dead weight) and nothing outside it.
    assert.deepEqual([...enSeen].sort(), [...source.words].sort());
    assert.deepEqual([...deSeen].sort(), [...target.words].sort());
  });

  it('rejects numbers out of range, naming the argument', () => {
    assert.throws(
      () => englishNumber(1_000_000),
      /englishNumber: n: expected an integer in \[0, 999999\], got number 1000000/,
    );
    assert.throws(() => germanNumberForms(-1), /germanNumberForms: n: expected an integer/);
    assert.throws(() => germanNumber(1.5), /germanNumber: n: .* got number 1.5/);
  });
});

describe('number translation: splits and data', () => {
  const opts = { seed: 3, trainSize: 3000, validSize: 300, testSize: 300 };

  it('splits share no number, have the asked sizes, and training holds 0..99', () => {
    const s = numberSplits(opts);
    assert.deepEqual([s.train.length, s.valid.length, s.test.length], [3000, 300, 300]);
    const all = [...s.train, ...s.valid, ...s.test];
    assert.equal(new Set(all).size, all.length, 'a number is in two splits');
    for (let n = 0; n < 100; n++) assert.ok(s.train.includes(n), `${n} not in train`);
    for (const n of [...s.valid, ...s.test]) assert.ok(n >= 100 && n <= NUMBER_MAX, `${n}`);
    // Digit lengths 3..6 are drawn uniformly: each holds roughly a quarter of the test set.
    for (let d = 3; d <= 6; d++) {
      const count = s.test.filter((n) => String(n).length === d).length;
      assert.ok(count > 40 && count < 110, `${count} test numbers of ${d} digits`);
    }
  });

  it('is deterministic for a seed and changes with it', () => {
    const a = makeNumberData(opts);
    const b = makeNumberData(opts);
    assert.deepEqual(a.test, b.test);
    assert.deepEqual(a.train.slice(0, 50), b.train.slice(0, 50));
    const c = makeNumberData({ ...opts, seed: 4 });
    assert.notDeepEqual(
      c.test.map((p) => p.value),
      a.test.map((p) => p.value),
    );
  });

  it('pairs hold source, target and references of their number; mixed targets use both forms', () => {
    const short = makeNumberData(opts);
    for (const p of [...short.train, ...short.test]) {
      assert.equal(p.source, englishNumber(p.value));
      assert.deepEqual(p.references, germanNumberForms(p.value));
      assert.equal(p.target, p.references[0]);
    }
    const mixed = makeNumberData({ ...opts, targetForm: 'mixed' });
    const multi = mixed.train.filter((p) => p.references.length > 1);
    assert.ok(multi.length > 100, `${multi.length} training numbers with several forms`);
    assert.ok(multi.every((p) => p.references.includes(p.target)));
    const longChosen = multi.filter((p) => p.target !== p.references[0]).length;
    assert.ok(longChosen > multi.length / 4 && longChosen < multi.length, `${longChosen}`);
  });

  it('batches like chapter 03 (hand-computed ids of "ninety seven" -> "sieben und neunzig")', async () => {
    const data = makeNumberData(opts);
    const ds = seq2seqDataset(data.train, {
      sourceVocab: data.sourceVocab,
      targetVocab: data.targetVocab,
    });
    const i97 = data.train.findIndex((p) => p.value === 97);
    // Source ids: zero..nineteen are 3..22, twenty..ninety 23..30 -> ninety 30, seven 10.
    // Target ids: null..neunzehn 3..22, ein 23, zwanzig..neunzig 24..31, und 32 -> [10, 32, 31].
    await expectNoLeak(() => {
      const b = ds.batch([i97]);
      assert.deepEqual(b.src.arraySync(), [[30, 10]]);
      assert.deepEqual(b.srcLens.arraySync(), [2]);
      assert.deepEqual(b.tgtIn.arraySync(), [[BOS, 10, 32, 31]]);
      assert.deepEqual(b.tgtOut.arraySync(), [[10, 32, 31, EOS]]);
      assert.deepEqual(b.tgtLens.arraySync(), [4]);
      const iBig = data.train.findIndex((p) => p.value >= 100000); // 6 digits: 6+ source words
      const wide = ds.batch([i97, iBig]);
      assert.equal(wide.src.shape[0], 2);
      assert.equal((wide.src.arraySync() as number[][])[0][2], PAD);
      tf.dispose([b, wide] as unknown as tf.Tensor[]);
    });
    assert.equal(data.targetVocab.decode([10, 32, 31, EOS]), 'sieben und neunzig');
  });

  it("feeds chapter 03's encoder-decoder: a finite loss and word outputs from translate", async () => {
    const data = makeNumberData({ seed: 1, trainSize: 100, validSize: 0, testSize: 4 });
    const ds = seq2seqDataset(data.test, {
      sourceVocab: data.sourceVocab,
      targetVocab: data.targetVocab,
    });
    const model = new BahdanauSeq2Seq({
      srcVocab: data.sourceVocab.size,
      tgtVocab: data.targetVocab.size,
      embedDim: 4,
      encoderHidden: 5,
      decoderHidden: 6,
      attentionHidden: 3,
      bos: BOS,
      eos: EOS,
    });
    try {
      await expectNoLeak(() => {
        const b = ds.batch([0, 1, 2, 3]);
        const out = model.forward(b.src, b.srcLens, b.tgtIn);
        assert.deepEqual(out.logits.shape, [4, b.tgtIn.shape[1], data.targetVocab.size]);
        const loss = maskedCrossEntropy(out.logits, b.tgtOut, { validLens: b.tgtLens });
        const value = loss.dataSync()[0];
        // Untrained: about log V per token.
        assert.ok(Math.abs(value - Math.log(data.targetVocab.size)) < 0.5, `loss ${value}`);
        tf.dispose([b, out, loss] as unknown as tf.Tensor[]);
        const t = translate(
          model,
          data.test.map((p) => p.source),
          {
            source: data.sourceVocab,
            target: data.targetVocab,
            maxLen: NUMBER_MAX_TARGET_WORDS + 1,
          },
        );
        for (const o of t.outputs)
          for (const w of data.targetVocab.split(o)) assert.ok(data.targetVocab.has(w));
      });
    } finally {
      model.dispose();
    }
  });

  it('BLEU takes every form as a reference: any form of 101,101 scores 100', () => {
    // Segments of at least 4 words: a corpus without any 4-gram scores 0 in sacreBLEU.
    const forms = germanNumberForms(101101);
    const refs = referenceStreams([forms, germanNumberForms(2021)]);
    assert.deepEqual(refs, [
      ['hundert ein tausend hundert eins', 'zwei tausend ein und zwanzig'],
      ['hundert ein tausend ein hundert eins', null],
      ['ein hundert ein tausend hundert eins', null],
      ['ein hundert ein tausend ein hundert eins', null],
    ]);
    for (const out of forms) {
      const r = corpusBleu([out, 'zwei tausend ein und zwanzig'], refs);
      assert.ok(Math.abs(r.score - 100) < 1e-9, `${out}: ${r.score}`);
      assert.ok(r.signature.startsWith('nrefs:var|'));
    }
    // Against the short form alone, a long output loses (extra words).
    assert.ok(corpusBleu([forms[3]], [[forms[0]]]).score < 100);
  });

  it('rejects bad options, naming them', () => {
    assert.throws(
      () => numberSplits({ trainSize: 50 }),
      /numberSplits: trainSize: expected an integer >= 100, got number 50/,
    );
    assert.throws(
      () => makeNumberData({ targetForm: 'long' as 'short' }),
      /makeNumberData: targetForm: expected 'short' or 'mixed', got "long"/,
    );
    assert.throws(
      () => numberSplits({ testSize: -1 }),
      /numberSplits: testSize: expected an integer/,
    );
    assert.throws(
      () => numberSplits({ trainSize: 999_000, validSize: 1000, testSize: 1000 }),
      /numberSplits: trainSize: expected at most 998000 .*, got 999000/,
    );
  });
});
