import * as assert from 'node:assert/strict';
import { lengthTaskTarget, makeLengthTask } from '../../src/data/sequences';

describe('the length-controlled task (copy / reverse digit strings)', () => {
  it('copies by default and reverses on request (hand-written)', () => {
    assert.equal(lengthTaskTarget('40712'), '40712');
    assert.equal(lengthTaskTarget('40712', 'reverse'), '21704');
    assert.throws(
      () => lengthTaskTarget('1', 'sort' as 'copy'),
      /task: expected 'copy' or 'reverse', got "sort"/,
    );
  });

  it('draws training lengths over the whole range and test sets of exactly each length', () => {
    const t = makeLengthTask({
      trainLengths: [3, 12],
      trainSize: 3000,
      testLengths: [5, 20, 50],
      testPerLength: 40,
      seed: 4,
    });
    assert.equal(t.train.length, 3000);
    const lengths = new Map<number, number>();
    for (const p of t.train) {
      assert.match(p.source, /^\d+$/);
      assert.equal(p.target, p.source);
      lengths.set(p.source.length, (lengths.get(p.source.length) ?? 0) + 1);
    }
    // 10 lengths, 300 expected each: all present, none far off (binomial sd ~16).
    assert.deepEqual(
      [...lengths.keys()].sort((a, b) => a - b),
      [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
    for (const [n, c] of lengths) assert.ok(c > 200 && c < 400, `length ${n}: ${c}`);
    assert.deepEqual(
      t.test.map((s) => s.length),
      [5, 20, 50],
    );
    const train = new Set(t.train.map((p) => p.source));
    for (const { length, pairs } of t.test) {
      assert.equal(pairs.length, 40);
      for (const p of pairs) {
        assert.equal(p.source.length, length);
        assert.ok(!train.has(p.source), `test string ${p.source} is in training`);
      }
    }
    // Digits are roughly uniform over the test strings of length 50 (2,000 digits, 200 each).
    const counts = new Array(10).fill(0);
    for (const p of t.test[2].pairs) for (const ch of p.source) counts[Number(ch)]++;
    for (const c of counts) assert.ok(c > 140 && c < 260, `digit counts ${counts}`);
    assert.equal(t.vocab.size, 13);
    assert.deepEqual(t.trainLengths, [3, 12]);
  });

  it('is seeded, reverses, and takes an alphabet', () => {
    const opts = { trainSize: 50, testLengths: [8], testPerLength: 5, seed: 9 };
    assert.deepEqual(makeLengthTask(opts), makeLengthTask(opts));
    assert.notDeepEqual(makeLengthTask(opts).train, makeLengthTask({ ...opts, seed: 10 }).train);
    const r = makeLengthTask({ ...opts, task: 'reverse', alphabet: 'xyz' });
    for (const p of r.train) {
      assert.match(p.source, /^[xyz]+$/);
      assert.equal(p.target, [...p.source].reverse().join(''));
    }
    assert.equal(r.vocab.size, 6);
  });

  it('rejects bad options, naming them, and never loops on a length too small to fill', () => {
    assert.throws(
      () => makeLengthTask({ trainLengths: [5, 4] }),
      /makeLengthTask: trainLengths\[1\]: expected an integer in \[5, 200\], got number 4/,
    );
    assert.throws(
      () => makeLengthTask({ testLengths: [2] }),
      /testLengths: length 2 has only 100 distinct strings/,
    );
    assert.throws(() => makeLengthTask({ trainSize: 0 }), /trainSize: expected an integer >= 1/);
    assert.throws(
      () =>
        makeLengthTask({
          trainLengths: [3, 3],
          trainSize: 20000,
          testLengths: [3],
          testPerLength: 100,
        }),
      /could not draw 100 strings of length 3 unseen in training/,
    );
  });
});
