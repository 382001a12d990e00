import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { describeValue } from '../../src/core/describe';
import { assertTensor, checkInt } from '../../src/core/shapes';
import { tableBundle } from '../../src/viz/table';
import { progress } from '../../src/viz/progress';
import { lineChart } from '../../src/viz/figures';
import { checkFigure } from '../../src/viz/figure';

describe('describeValue (one for the whole library)', () => {
  const cases: [string, unknown, string][] = [
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a number', 0, 'number 0'],
    ['NaN', NaN, 'number NaN'],
    ['a boolean', true, 'boolean true'],
    ['a bigint', 3n, 'bigint 3'],
    ['a string, quoted', 'pie', 'string "pie"'],
    ['a long string, cut', 'x'.repeat(50), `string "${'x'.repeat(40)}..."`],
    ['a symbol', Symbol('s'), 'symbol s'],
    ['an array', [1, 2, 3], 'an array of length 3'],
    ['a named function', function onStep() {}, 'a function (onStep)'],
    ['a plain object', { a: 1 }, 'an object (Object)'],
    ['an object without prototype', Object.create(null), 'an object (Object)'],
    ['a Map', new Map(), 'an object (Map)'],
  ];
  for (const [what, value, expected] of cases) {
    it(`describes ${what} as "${expected}"`, () => {
      assert.equal(describeValue(value), expected);
    });
  }

  it('describes a tensor by dtype and shape, and allocates nothing', () => {
    const x = tf.zeros([2, 3], 'int32');
    const before = tf.memory().numTensors;
    assert.equal(describeValue(x), 'an int32 tensor of shape [2, 3]');
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    const y = tf.ones([1]);
    assert.equal(describeValue(y), 'a float32 tensor of shape [1]');
    y.dispose();
  });

  it('never throws, even on an object whose getters throw', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    assert.equal(describeValue(hostile), 'an object');
  });

  it('is what shape checks, tables, progress bars and figures all print', () => {
    // Each of these printed a different, shorter form before (typeof only, no value).
    assert.throws(
      () => assertTensor({ a: 1 }, 'x'),
      /^TypeError: x: expected a tf\.Tensor, got an object \(Object\)$/,
    );
    assert.throws(
      () => checkInt(2.5, 'steps', 1),
      /steps: expected an integer >= 1, got number 2\.5$/,
    );
    assert.throws(
      () => tableBundle([{ a: true }] as never),
      /rows\[0\]\.a: expected a string or a number, got boolean true$/,
    );
    assert.throws(
      () => progress({ total: 3, mode: 'silent' }).update(1, 'loss' as never),
      /metrics: expected an object of numbers, got string "loss"$/,
    );
    assert.throws(
      () => lineChart('not series' as never),
      /series: expected an object of arrays or an array of series, got string "not series"$/,
    );
    assert.throws(
      () => checkFigure(42 as never),
      /figure: expected an object with panels, got number 42$/,
    );
  });
});
