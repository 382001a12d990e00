import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { crossEntropy, maskedCrossEntropy, tokenMask } from '../../src/train/losses';
import { ft, type FixtureTensor } from '../helpers/fixtures';
import { lossFixture } from '../helpers/torch-blocks';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

/** Loss value and gradient with respect to the logits. */
function lossAndGrad(f: (logits: tf.Tensor) => tf.Scalar, logits: tf.Tensor): [number, tf.Tensor] {
  const { value, grad } = tf.valueAndGrad(f)(logits);
  const v = value.dataSync()[0];
  value.dispose();
  return [v, grad];
}

function expectClose(actual: number, expected: number, label: string, rtol = 1e-5): void {
  const tol = 1e-5 + rtol * Math.abs(expected);
  assert.ok(Math.abs(actual - expected) <= tol, `${label}: got ${actual}, expected ${expected}`);
}

describe('maskedCrossEntropy', () => {
  const cases = [
    'ceUnmasked',
    'cePadId',
    'cePadIdSmoothed',
    'ceValidLensSmoothed',
    'ceBigLogits',
    'ceBigLogitsSmoothed',
  ];
  for (const name of cases) {
    it(`matches PyTorch's CrossEntropyLoss(ignore_index, label_smoothing), value and gradient (${name})`, async () => {
      const c = lossFixture(name);
      const config = c.config as { labelSmoothing: number; padId?: number };
      await expectNoLeak(() => {
        const logits = ft(c.inputs!.logits);
        const targets = ft(c.inputs!.targets, 'int32');
        const validLens = c.inputs!.validLens as number[] | undefined;
        const opts = { labelSmoothing: config.labelSmoothing, padId: config.padId, validLens };
        const [value, grad] = lossAndGrad((z) => maskedCrossEntropy(z, targets, opts), logits);
        expectClose(value, c.outputs.loss, `${name} loss`);
        assert.ok(Number.isFinite(value));
        expectTensorsClose(grad, c.grads!.logits as FixtureTensor, {
          atol: 1e-5,
          rtol: 1e-5,
          label: `${name} d loss / d logits`,
        });
        tf.dispose([logits, targets, grad]);
      }, name);
    });
  }

  it('gives -log p and the smoothed loss by hand: p = [1/4, 3/4], eps 0.2', () => {
    const logits = tf.tensor3d([[[0, Math.log(3)]]]);
    const targets = tf.tensor2d([[1]], undefined, 'int32');
    const plain = maskedCrossEntropy(logits, targets);
    // q = [0.1, 0.9]: -(0.1 ln 1/4 + 0.9 ln 3/4)
    const smoothed = maskedCrossEntropy(logits, targets, { labelSmoothing: 0.2 });
    expectClose(plain.dataSync()[0], -Math.log(0.75), 'plain');
    expectClose(smoothed.dataSync()[0], -(0.1 * Math.log(0.25) + 0.9 * Math.log(0.75)), 'smoothed');
    tf.dispose([logits, targets, plain, smoothed]);
  });

  it('stays finite for logits of +-1e9, with and without smoothing, value and gradient', () => {
    const logits = tf.tensor3d([
      [
        [1e9, -1e9, 0],
        [-1e9, -1e9, 1e9],
      ],
    ]);
    const targets = tf.tensor2d([[0, 0]], undefined, 'int32'); // the second target has p = 0
    for (const labelSmoothing of [0, 0.1]) {
      const [value, grad] = lossAndGrad(
        (z) => maskedCrossEntropy(z, targets, { labelSmoothing }),
        logits,
      );
      assert.ok(Number.isFinite(value), `loss ${value} with smoothing ${labelSmoothing}`);
      // -log p_0 of the second token is 2e9; the first contributes ~0; mean over 2 tokens
      if (labelSmoothing === 0) expectClose(value, 1e9, 'confident loss', 1e-6);
      assert.ok(grad.dataSync().every(Number.isFinite), 'gradient has Inf or NaN');
      grad.dispose();
    }
    tf.dispose([logits, targets]);
  });

  it('ignores padding entirely: any logits or target ids there change nothing', () => {
    const targets = tf.tensor2d(
      [
        [1, 2, -1],
        [0, 7, 7],
      ],
      undefined,
      'int32',
    );
    const validLens = [2, 1];
    const a = tf.tensor3d([
      [
        [1, 2, 3],
        [0, 0, 1],
        [5, 5, 5],
      ],
      [
        [2, 0, 0],
        [9, 9, 9],
        [1, 1, 1],
      ],
    ]);
    const b = tf.tensor3d([
      [
        [1, 2, 3],
        [0, 0, 1],
        [-9, 0, 4],
      ],
      [
        [2, 0, 0],
        [0, 3, 1],
        [8, 1, 1],
      ],
    ]);
    const la = maskedCrossEntropy(a, targets, { validLens });
    const lb = maskedCrossEntropy(b, targets, { validLens: tf.tensor1d(validLens, 'int32') });
    expectClose(la.dataSync()[0], lb.dataSync()[0], 'same real tokens');
    const [, grad] = lossAndGrad((z) => maskedCrossEntropy(z, targets, { validLens }), a);
    const g = grad.arraySync() as number[][][];
    assert.deepEqual([g[0][2], g[1][1], g[1][2]].flat().map(Math.abs), Array(9).fill(0));
    tf.dispose([targets, a, b, la, lb, grad]);
  });

  it('gives 0 and a zero gradient when no token is real (PyTorch: NaN)', () => {
    const logits = tf.tensor3d([
      [
        [1, 2],
        [3, 4],
      ],
    ]);
    const targets = tf.tensor2d([[0, 0]], undefined, 'int32');
    const [value, grad] = lossAndGrad((z) => maskedCrossEntropy(z, targets, { padId: 0 }), logits);
    assert.equal(value, 0);
    assert.deepEqual(Array.from(grad.dataSync(), Math.abs), [0, 0, 0, 0]);
    tf.dispose([logits, targets, grad]);
  });

  it('builds the token mask from validLens and padId together', () => {
    const targets = tf.tensor2d(
      [
        [3, 0, 4, 0],
        [5, 6, 0, 0],
      ],
      undefined,
      'int32',
    );
    const mask = tokenMask(targets, { validLens: [3, 4], padId: 0 });
    assert.deepEqual(mask.arraySync(), [
      [1, 0, 1, 0],
      [1, 1, 0, 0],
    ]);
    tf.dispose([targets, mask]);
  });

  it('rejects bad arguments, naming them', () => {
    const logits = tf.zeros([2, 3, 4]);
    const targets = tf.zeros([2, 3], 'int32');
    assert.throws(
      () => maskedCrossEntropy(logits, tf.zeros([2, 3])),
      /^TypeError: targets: expected dtype int32, got float32/,
    );
    assert.throws(
      () => maskedCrossEntropy(logits, tf.zeros([2, 4], 'int32')),
      /^Error: targets: expected shape \[B, T\] with T = 3 \(from logits\), got \[2, 4\]/,
    );
    assert.throws(
      () => maskedCrossEntropy(tf.zeros([2, 3]), targets),
      /^Error: logits: expected rank 3 \[B, T, V\], got rank 2/,
    );
    assert.throws(
      () =>
        maskedCrossEntropy(
          logits,
          tf.tensor2d(
            [
              [0, 4, 0],
              [0, 0, 0],
            ],
            undefined,
            'int32',
          ),
        ),
      /^RangeError: targets: expected class indices in \[0, V\) = \[0, 4\) at real tokens, got 4 at flat index 1/,
    );
    // the same id is fine where it is padding
    tf.dispose(
      maskedCrossEntropy(
        logits,
        tf.tensor2d(
          [
            [0, 4, 0],
            [0, 0, 0],
          ],
          undefined,
          'int32',
        ),
        {
          validLens: [1, 3],
        },
      ),
    );
    assert.throws(
      () => maskedCrossEntropy(logits, targets, { labelSmoothing: 1.5 }),
      /^RangeError: labelSmoothing: expected a number in \[0, 1\], got 1.5/,
    );
    assert.throws(
      () => maskedCrossEntropy(logits, targets, { validLens: [1, 4] }),
      /^RangeError: validLens: expected integers in \[0, T\] = \[0, 3\], got 4 at index 1/,
    );
    assert.throws(
      () => maskedCrossEntropy(logits, targets, { validLens: [1] }),
      /^Error: validLens: expected 2 lengths \(one per row, \[B\]\), got 1/,
    );
    assert.throws(
      () => maskedCrossEntropy(logits, targets, { padId: 0.5 }),
      /^TypeError: padId: expected an integer token id, got 0.5/,
    );
    assert.throws(
      () => maskedCrossEntropy(tf.fill([2, 3, 4], NaN), targets),
      /^RangeError: logits: expected finite values, got NaN/,
    );
    tf.dispose([logits, targets]);
  });
});

describe('crossEntropy', () => {
  it("matches PyTorch's F.cross_entropy(label_smoothing=0.25) on [B, V] logits", async () => {
    const c = lossFixture('ce2d');
    await expectNoLeak(() => {
      const logits = ft(c.inputs!.logits);
      const targets = ft(c.inputs!.targets, 'int32');
      const opts = { labelSmoothing: (c.config as { labelSmoothing: number }).labelSmoothing };
      const [value, grad] = lossAndGrad((z) => crossEntropy(z, targets, opts), logits);
      expectClose(value, c.outputs.loss, 'ce2d loss');
      expectTensorsClose(grad, c.grads!.logits as FixtureTensor, { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([logits, targets, grad]);
    });
  });

  it('rejects mismatched shapes and out-of-range targets, naming them', () => {
    const logits = tf.zeros([3, 5]);
    assert.throws(
      () => crossEntropy(logits, tf.zeros([2], 'int32')),
      /^Error: targets: expected shape \[B\] with B = 3 \(from logits\), got \[2\]/,
    );
    assert.throws(
      () => crossEntropy(logits, tf.tensor1d([0, -1, 2], 'int32')),
      /^RangeError: targets: expected class indices in \[0, V\) = \[0, 5\) at real tokens, got -1/,
    );
    logits.dispose();
  });
});
