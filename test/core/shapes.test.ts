import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  assertTensor,
  checkFinite,
  checkInt,
  checkPositive,
  checkShape,
  dimOf,
  withInputsChecked,
} from '../../src/core/shapes';
import { LocalPAttention } from '../../src/attention/local';
import { MultiHeadAttention } from '../../src/attention/multihead';
import { createRng, deriveSeed, shuffled } from '../../src/core/random';

describe('checkShape', () => {
  it('binds glossary letters and returns them', () => {
    const dims = checkShape(tf.zeros([2, 3, 4]), ['B', 'T', 'D'], 'query');
    assert.equal(dims.B.size, 2);
    assert.equal(dims.T.size, 3);
    assert.equal(dims.D.size, 4);
    assert.equal(dims.D.boundBy, 'query');
  });

  it('accepts consistent sizes across arguments', () => {
    const dims = checkShape(tf.zeros([2, 3, 4]), ['B', 'T', 'D'], 'query');
    assert.doesNotThrow(() => checkShape(tf.zeros([2, 5, 4]), ['B', 'S', 'D'], 'key', { dims }));
  });

  const errors: [string, () => unknown, RegExp][] = [
    [
      'a plain array',
      () => checkShape([1, 2], ['B'], 'query'),
      /query: expected a tf\.Tensor, got an array of length 2/,
    ],
    [
      'undefined',
      () => checkShape(undefined, ['B'], 'key'),
      /key: expected a tf\.Tensor, got undefined/,
    ],
    [
      'the wrong rank',
      () => checkShape(tf.zeros([2, 3]), ['B', 'T', 'D'], 'query'),
      /query: expected rank 3 \[B, T, D\], got rank 2 with shape \[2, 3\]/,
    ],
    [
      'a wrong fixed size',
      () => checkShape(tf.zeros([2, 3]), ['B', 8], 'x'),
      /x: expected shape \[B, 8\], got \[2, 3\] \(dimension 1 should be 8, got 3\)/,
    ],
    [
      'an empty axis',
      () => checkShape(tf.zeros([2, 0, 4]), ['B', 'S', 'D'], 'key'),
      /key: expected a non-empty dimension S in \[B, S, D\], got shape \[2, 0, 4\]/,
    ],
    [
      'an inconsistent letter',
      () => {
        const dims = checkShape(tf.zeros([2, 3, 4]), ['B', 'T', 'D'], 'query');
        checkShape(tf.zeros([2, 5, 8]), ['B', 'S', 'D'], 'key', { dims });
      },
      /key: expected shape \[B, S, D\] with D = 4 \(from query\), got \[2, 5, 8\]/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`names the argument for ${what}`, () => assert.throws(thunk, message));
  }

  it('rejects a disposed tensor', () => {
    const x = tf.zeros([1]);
    x.dispose();
    assert.throws(() => assertTensor(x, 'x'), /x: the tensor has already been disposed/);
  });
});

describe('value checks', () => {
  it('finds NaN and Infinity with their position', () => {
    assert.throws(
      () => checkFinite(tf.tensor1d([0, 1, NaN]), 'scores'),
      /scores: expected finite values, got NaN at flat index 2 of shape \[3\]/,
    );
    assert.throws(() => checkFinite(tf.tensor1d([Infinity]), 'v'), /got Infinity at flat index 0/);
    assert.doesNotThrow(() =>
      checkFinite(tf.tensor1d([0, -Infinity]), 'mask', { allowNegInf: true }),
    );
  });

  it('checks integers and positive numbers', () => {
    assert.equal(checkInt(3, 'numHeads'), 3);
    assert.throws(
      () => checkInt(2.5, 'numHeads'),
      /numHeads: expected an integer >= 1, got number 2.5/,
    );
    assert.throws(() => checkInt(0, 'n', 1, 4), /n: expected an integer in \[1, 4\], got number 0/);
    assert.throws(
      () => checkPositive(0, 'temperature'),
      /temperature: expected a finite number > 0, got number 0/,
    );
    assert.throws(
      () => checkPositive('1', 'width'),
      /width: expected a finite number > 0, got string "1"/,
    );
  });

  it('reads axes with negative indices', () => {
    const x = tf.zeros([2, 3, 4]);
    assert.equal(dimOf(x, -1), 4);
    assert.equal(dimOf(x, 0), 2);
    assert.throws(() => dimOf(x, 3), /axis: expected an axis of a rank-3 tensor, got 3/);
  });
});

describe('seeded randomness', () => {
  it('repeats a sequence for the same seed and differs for another', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const seqA = Array.from({ length: 5 }, () => a.uniform());
    assert.deepEqual(
      seqA,
      Array.from({ length: 5 }, () => b.uniform()),
    );
    assert.notDeepEqual(
      seqA,
      Array.from({ length: 5 }, () => c.uniform()),
    );
  });

  it('draws uniforms in [0, 1) with mean near 1/2 and normals with variance near 1', () => {
    const rng = createRng(1);
    const u = Array.from({ length: 20000 }, () => rng.uniform());
    assert.ok(u.every((x) => x >= 0 && x < 1));
    const mean = u.reduce((s, x) => s + x, 0) / u.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
    const n = Array.from({ length: 20000 }, () => rng.normal());
    const variance = n.reduce((s, x) => s + x * x, 0) / n.length;
    assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
  });

  it('derives different seeds for different labels', () => {
    assert.notEqual(deriveSeed(0, 'wQ'), deriveSeed(0, 'wK'));
    assert.equal(deriveSeed(3, 'wQ'), deriveSeed(3, 'wQ'));
  });

  it('shuffles a copy: a permutation, the same for a seed, the input untouched', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const a = shuffled(items, 5);
    assert.deepEqual(
      items,
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      items,
    );
    assert.notDeepEqual(a, items);
    assert.deepEqual(shuffled(items, 5), a);
    assert.notDeepEqual(shuffled(items, 6), a);
    assert.throws(
      () => shuffled('abc' as unknown as string[], 1),
      /shuffled: items: expected an array, got string/,
    );
  });
});

describe('withInputsChecked', () => {
  it('skips NaN checks inside, restores them after (also after a throw), and keeps shape checks', () => {
    const bad = tf.tensor1d([NaN]);
    assert.doesNotThrow(() => withInputsChecked(() => checkFinite(bad, 'x')));
    assert.throws(() => checkFinite(bad, 'x'), /x: expected finite values/);
    assert.throws(() =>
      withInputsChecked(() => {
        throw new Error('inner');
      }),
    );
    assert.throws(() => checkFinite(bad, 'x'), /x: expected finite values/);
    assert.throws(
      () => withInputsChecked(() => checkShape(bad, ['B', 'T'], 'x')),
      /x: expected rank 2/,
    );
  });

  it('layers still reject NaN inputs', () => {
    const mha = new MultiHeadAttention({ dModel: 4, numHeads: 2 });
    const x = tf.fill([1, 2, 4], NaN);
    assert.throws(() => mha.apply(x, x, x), /query: expected finite values, got NaN/);
    const local = new LocalPAttention({ queryDim: 4, keyDim: 4, hiddenDim: 2, window: 1 });
    const ok = tf.zeros([1, 2, 4]);
    assert.throws(() => local.apply(ok, ok, x), /value: expected finite values, got NaN/);
    mha.dispose();
    local.dispose();
  });
});
