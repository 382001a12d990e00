import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { causalMask, combineMasks, validLensMask } from '../../src/attention/masks';
import { maskedSoftmax, softmax } from '../../src/attention/softmax';
import { checkGradients, expectNoLeak, expectTensorsClose } from '../helpers/tensors';
import {
  expectFixtureGrads,
  fixture,
  fixtureNames,
  ft,
  gradsOfWeightedSum,
} from '../helpers/fixtures';

const E = Math.E;

describe('softmax with temperature', () => {
  it('matches a hand computation', () => {
    // softmax([0, 1]) = [1/(1+e), e/(1+e)]; at tau = 2: [1/(1+e^0.5), e^0.5/(1+e^0.5)]
    expectTensorsClose(softmax(tf.tensor1d([0, 1])), [1 / (1 + E), E / (1 + E)]);
    const r = Math.sqrt(E);
    expectTensorsClose(softmax(tf.tensor1d([0, 1]), 2), [1 / (1 + r), r / (1 + r)]);
  });

  it('approaches argmax as tau -> 0 and the uniform average as tau -> infinity', () => {
    expectTensorsClose(softmax(tf.tensor1d([1, 3, 2]), 0.01), [0, 1, 0], { atol: 1e-6 });
    expectTensorsClose(softmax(tf.tensor1d([1, 3, 2]), 1e6), [1 / 3, 1 / 3, 1 / 3], { atol: 1e-5 });
  });

  it('is stable for huge scores', () => {
    expectTensorsClose(softmax(tf.tensor1d([1000, 1000 + Math.log(3)])), [0.25, 0.75], {
      atol: 1e-5,
    });
  });

  for (const name of fixtureNames('softmax_temperature_')) {
    it(`matches PyTorch: ${name} (values and gradient)`, () => {
      const c = fixture(name);
      const tau = c.config!.tau as number;
      const x = tf.variable(ft(c.inputs!.x));
      expectTensorsClose(softmax(x, tau), c.outputs.output, { label: 'output' });
      const g = gradsOfWeightedSum(() => softmax(x, tau), c.upstream!, { x });
      expectFixtureGrads(g, c);
      x.dispose();
    });
  }

  it('has finite-difference gradients', () => {
    const x = tf.tensor2d([
      [0.3, -0.2, 0.5],
      [1, 0, -1],
    ]);
    const w = tf.tensor2d([
      [1, 2, 3],
      [-1, 0.5, 2],
    ]);
    checkGradients((y) => tf.sum(tf.mul(softmax(y, 0.7), w)), [x]);
  });

  it('rejects bad temperatures and inputs by name', () => {
    assert.throws(
      () => softmax(tf.tensor1d([1]), 0),
      /temperature: expected a finite number > 0, got number 0/,
    );
    assert.throws(
      () => softmax(tf.tensor1d([1]), NaN),
      /temperature: expected a finite number > 0, got number NaN/,
    );
    assert.throws(() => softmax(tf.tensor1d([1, NaN])), /scores: expected finite values, got NaN/);
    assert.throws(
      () => softmax(tf.tensor1d([1], 'int32')),
      /scores: expected dtype float32, got int32/,
    );
    assert.throws(() => softmax([1, 2] as never), /scores: expected a tf\.Tensor, got an array/);
  });

  it('does not leak tensors', async () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    await expectNoLeak(() => softmax(x, 3).dispose());
  });
});

describe('masked softmax', () => {
  let scores: tf.Tensor;
  before(() => {
    scores = tf.tensor3d([
      [
        [1, 2, 3],
        [0, 0, 0],
      ],
    ]); // [1, 2, 3]
  });

  it('gives hidden keys exactly zero weight (hand-computed)', () => {
    const w = maskedSoftmax(scores, { validLens: tf.tensor1d([2], 'int32') });
    expectTensorsClose(
      w,
      [
        [
          [1 / (1 + E), E / (1 + E), 0],
          [0.5, 0.5, 0],
        ],
      ],
      { atol: 1e-6 },
    );
    assert.equal(w.dataSync()[2], 0);
  });

  it('accepts per-query valid lengths [B, T] and returns zeros for a zero-length row', () => {
    const w = maskedSoftmax(scores, { validLens: tf.tensor2d([[0, 3]], [1, 2], 'int32') });
    expectTensorsClose(
      w,
      [
        [
          [0, 0, 0],
          [1 / 3, 1 / 3, 1 / 3],
        ],
      ],
      { atol: 1e-6 },
    );
    assert.ok(!Array.from(w.dataSync()).some(Number.isNaN));
  });

  it('accepts a bool mask and an additive mask with -Infinity', () => {
    const keep = tf.tensor3d(
      [
        [
          [true, false, true],
          [false, false, false],
        ],
      ],
      undefined,
      'bool',
    );
    const w = maskedSoftmax(scores, { mask: keep });
    expectTensorsClose(
      w,
      [
        [
          [1 / (1 + E * E), 0, (E * E) / (1 + E * E)],
          [0, 0, 0],
        ],
      ],
      { atol: 1e-6 },
    );
    const additive = tf.tensor3d([
      [
        [0, -Infinity, 0],
        [-Infinity, -Infinity, -Infinity],
      ],
    ]);
    expectTensorsClose(maskedSoftmax(scores, { mask: additive }), w, { atol: 1e-6 });
    // finite additive entries are added to the scores: [1, 2 + ln 2, 3] -> weights proportional to [e, 2e^2, e^3]
    const bias = tf.tensor3d([
      [
        [0, Math.log(2), 0],
        [0, 0, 0],
      ],
    ]);
    const z = E + 2 * E * E + E ** 3;
    expectTensorsClose(
      maskedSoftmax(scores, { mask: bias }).slice([0, 0, 0], [1, 1, 3]),
      [[[E / z, (2 * E * E) / z, E ** 3 / z]]],
      { atol: 1e-6 },
    );
  });

  it('equals the plain softmax without a mask', () => {
    expectTensorsClose(maskedSoftmax(scores), softmax(scores));
  });

  for (const name of fixtureNames('masked_softmax_')) {
    it(`matches PyTorch: ${name} (values and gradient)`, () => {
      const c = fixture(name);
      const x = tf.variable(ft(c.inputs!.x));
      const opts = c.inputs!.mask
        ? { mask: ft(c.inputs!.mask, 'bool') }
        : { validLens: ft(c.inputs!.validLens) };
      expectTensorsClose(maskedSoftmax(x, opts), c.outputs.output, { label: 'output' });
      const g = gradsOfWeightedSum(() => maskedSoftmax(x, opts), c.upstream!, { x });
      expectFixtureGrads(g, c);
      x.dispose();
    });
  }

  it('has finite-difference gradients, including through a fully masked row', () => {
    const x = tf.tensor3d([
      [
        [0.1, 0.4, -0.3],
        [0.2, 0.2, 0.9],
      ],
    ]);
    const w = tf.tensor3d([
      [
        [1, -2, 3],
        [0.5, 1, -1],
      ],
    ]);
    const validLens = tf.tensor2d([[2, 0]], [1, 2], 'int32');
    checkGradients((y) => tf.sum(tf.mul(maskedSoftmax(y, { validLens }), w)), [x]);
  });

  const errors: [string, () => unknown, RegExp][] = [
    [
      'valid lengths longer than S',
      () => maskedSoftmax(scores, { validLens: tf.tensor1d([4]) }),
      /validLens: expected integers in \[0, S\] = \[0, 3\], got 4 at index 0/,
    ],
    [
      'negative valid lengths',
      () => maskedSoftmax(scores, { validLens: tf.tensor1d([-1]) }),
      /validLens: expected integers in \[0, S\] = \[0, 3\], got -1/,
    ],
    [
      'fractional valid lengths',
      () => maskedSoftmax(scores, { validLens: tf.tensor1d([1.5]) }),
      /validLens: expected integers in \[0, S\]/,
    ],
    [
      'valid lengths of the wrong batch size',
      () => maskedSoftmax(scores, { validLens: tf.tensor1d([1, 2]) }),
      /validLens: expected shape \[B\] = \[1\] or \[B, T\] = \[1, 2\], got \[2\]/,
    ],
    [
      'a mask of the wrong length',
      () => maskedSoftmax(scores, { mask: tf.ones([1, 2, 4], 'bool') }),
      /mask: expected a shape broadcastable to the scores \[1, 2, 3\], got \[1, 2, 4\]/,
    ],
    [
      'a mask of the wrong dtype',
      () => maskedSoftmax(scores, { mask: tf.ones([1, 2, 3], 'int32') }),
      /mask: expected dtype bool or float32, got int32/,
    ],
    [
      'validLens with rank-2 scores',
      () => maskedSoftmax(tf.zeros([2, 3]), { validLens: tf.tensor1d([1, 2]) }),
      /maskedSoftmax: validLens: needs scores \[B, T, S\] or \[B, H, T, S\], got \[2, 3\]/,
    ],
    [
      'a causal flag that is not a boolean',
      () => maskedSoftmax(scores, { causal: 1 as unknown as boolean }),
      /maskedSoftmax: causal: expected true or false, got number/,
    ],
    [
      'NaN scores',
      () => maskedSoftmax(tf.tensor3d([[[1, NaN]]])),
      /scores: expected finite values, got NaN at flat index 1/,
    ],
    [
      'empty scores',
      () => maskedSoftmax(tf.zeros([1, 2, 0])),
      /scores: expected a non-empty tensor \[\.\.\., S\], got shape \[1, 2, 0\]/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what} with a clear message`, () => assert.throws(thunk, message));
  }

  it('does not leak tensors', async () => {
    const validLens = tf.tensor1d([2], 'int32');
    const mask = tf.tensor3d([
      [
        [0, -Infinity, 0],
        [0, 0, 0],
      ],
    ]);
    await expectNoLeak(() => {
      maskedSoftmax(scores, { validLens }).dispose();
      maskedSoftmax(scores, { mask }).dispose();
    });
  });
});

// tfjs returns bool tensors' values as 1/0.
describe('mask builders', () => {
  it('builds a valid-length mask [B, T, S]', () => {
    const m = validLensMask(tf.tensor1d([1, 3], 'int32'), 2, 3);
    assert.deepEqual(m.arraySync(), [
      [
        [1, 0, 0],
        [1, 0, 0],
      ],
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
    ]);
  });

  it('builds a causal mask, also with cached keys (S > T)', () => {
    assert.deepEqual(causalMask(3).arraySync(), [
      [1, 0, 0],
      [1, 1, 0],
      [1, 1, 1],
    ]);
    assert.deepEqual(causalMask(1, 3).arraySync(), [[1, 1, 1]]);
    assert.throws(() => causalMask(3, 2), /keyLen: expected S >= T = 3 for a causal mask, got 2/);
  });

  it('combines masks with AND and broadcasting', () => {
    const m = combineMasks(causalMask(2), tf.tensor2d([[1, 0]], [1, 2], 'bool'), undefined)!;
    assert.deepEqual(m.arraySync(), [
      [1, 0],
      [1, 0],
    ]);
    assert.equal(combineMasks(undefined), undefined);
    assert.throws(() => combineMasks(tf.ones([2])), /masks\[0\]: expected dtype bool, got float32/);
  });
});
