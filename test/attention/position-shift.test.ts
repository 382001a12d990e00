import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { maxShiftError, sinusoidalShiftMatrix } from '../../src/attention/position-shift';
import { sinusoidalEncoding } from '../../src/attention/positional';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

describe('sinusoidal shift matrix (relative-position property)', () => {
  it('is a rotation by k / 10000^(2i/D) in each (sin, cos) pair, worked out by hand', () => {
    // D = 4, k = 2: pair 0 turns by 2 rad, pair 1 by 2 / 10000^(2/4) = 0.02 rad
    const [c0, s0, c1, s1] = [Math.cos(2), Math.sin(2), Math.cos(0.02), Math.sin(0.02)];
    expectTensorsClose(
      sinusoidalShiftMatrix(2, 4),
      [
        [c0, -s0, 0, 0],
        [s0, c0, 0, 0],
        [0, 0, c1, -s1],
        [0, 0, s1, c1],
      ],
      { atol: 1e-7 },
    );
  });

  it('moves every row of the sinusoidal table k positions on, for positive and negative k', () => {
    const table = sinusoidalEncoding(60, 16);
    for (const k of [1, 5, 17, -3]) {
      const m = sinusoidalShiftMatrix(k, 16);
      const p = k > 0 ? 0 : 10; // one row by hand: PE(p + k) = PE(p) M_k
      const row = tf.matMul(table.slice([p, 0], [1, 16]), m);
      expectTensorsClose(row, table.slice([p + k, 0], [1, 16]), { atol: 1e-5 });
      const err = maxShiftError(table, k, m);
      assert.ok(err < 1e-5, `offset ${k}: max error ${err}`);
    }
  });

  it('maxShiftError measures a wrong map: the identity at k = 1, D = 2, by hand', () => {
    // rows [0, 1] and [sin 1, cos 1]: the identity leaves row 0 in place, so the error is
    // max(|sin 1 - 0|, |cos 1 - 1|) = sin 1
    const err = maxShiftError(sinusoidalEncoding(2, 2), 1, tf.eye(2));
    assert.ok(Math.abs(err - Math.sin(1)) < 1e-6, `got ${err}`);
  });

  it('a map for another offset fails, so the map depends on k only', () => {
    const table = sinusoidalEncoding(40, 8);
    assert.ok(maxShiftError(table, 3, sinusoidalShiftMatrix(2, 8)) > 0.1);
  });

  it('leaves no tensors behind', async () => {
    const table = sinusoidalEncoding(10, 4);
    const m = sinusoidalShiftMatrix(3, 4);
    await expectNoLeak(() => maxShiftError(table, 3, m));
  });

  const errors: [string, () => unknown, RegExp][] = [
    ['an odd width', () => sinusoidalShiftMatrix(1, 5), /dModel: expected an even width, got 5/],
    ['a fractional offset', () => sinusoidalShiftMatrix(1.5, 4), /offset: expected an integer/],
    [
      'an offset as long as the table',
      () => maxShiftError(sinusoidalEncoding(4, 4), 4, tf.eye(4)),
      /offset: expected an integer in \[-3, 3\], got number 4/,
    ],
    [
      'a matrix of another width',
      () => maxShiftError(sinusoidalEncoding(4, 4), 1, tf.eye(6)),
      /matrix: expected shape \[D, D\] with D = 4 \(from table\), got \[6, 6\]/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what} with a clear message`, () => assert.throws(thunk, message));
  }
});
