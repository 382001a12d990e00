import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  KERNEL_NAMES,
  kernelValues,
  leaveOneOutLoss,
  nadarayaWatson,
  type KernelName,
} from '../../src/attention/kernel-regression';
import { fixture, fixtureNames, ft } from '../helpers/fixtures';
import { checkGradients, expectNoLeak, expectTensorsClose } from '../helpers/tensors';

describe('Nadaraya-Watson kernel regression', () => {
  it('kernels have the textbook shapes (hand-computed)', () => {
    const u = tf.tensor1d([0, 0.5, 1, 2]);
    expectTensorsClose(kernelValues('gaussian', u), [
      1,
      Math.exp(-0.125),
      Math.exp(-0.5),
      Math.exp(-2),
    ]);
    expectTensorsClose(kernelValues('boxcar', u), [1, 1, 1, 0]);
    expectTensorsClose(kernelValues('epanechnikov', u), [1, 0.75, 0, 0]);
  });

  it('a very wide kernel gives the average of all values (average pooling)', () => {
    const keys = tf.tensor1d([0, 1, 2, 3]);
    const values = tf.tensor1d([1, 2, 3, 10]);
    for (const kernel of KERNEL_NAMES) {
      const { predictions } = nadarayaWatson(tf.tensor1d([1.5]), keys, values, {
        kernel,
        width: 1e4,
      });
      expectTensorsClose(predictions, [4], { atol: 1e-3, label: kernel });
    }
  });

  it('boxcar averages the keys within one width (hand-computed)', () => {
    const { predictions, weights } = nadarayaWatson(
      tf.tensor1d([0.9]),
      tf.tensor1d([0, 0.5, 1, 2]),
      tf.tensor1d([4, 6, 8, 100]),
      { kernel: 'boxcar', width: 0.5 },
    );
    expectTensorsClose(weights, [[0, 0.5, 0.5, 0]]);
    expectTensorsClose(predictions, [7]);
  });

  for (const name of fixtureNames('nadaraya_watson_')) {
    it(`matches the PyTorch reference: ${name}`, () => {
      const c = fixture(name);
      const kernel = c.config!.kernel as KernelName;
      const [queries, keys, values] = [
        ft(c.inputs!.xQueries),
        ft(c.inputs!.xKeys),
        ft(c.inputs!.yKeys),
      ];
      const h = c.inputs!.h as number;
      const { predictions, weights } = nadarayaWatson(queries, keys, values, { kernel, width: h });
      expectTensorsClose(weights, c.outputs.weights, { label: 'weights' });
      expectTensorsClose(predictions, c.outputs.predictions, { label: 'predictions' });
      if (c.grads?.h !== undefined) {
        const width = tf.variable(tf.scalar(h));
        const { grads } = tf.variableGrads(
          () =>
            tf.sum(
              tf.mul(
                nadarayaWatson(queries, keys, values, { kernel, width }).predictions,
                ft(c.upstream),
              ),
            ) as tf.Scalar,
          [width],
        );
        expectTensorsClose(
          grads[width.name],
          [c.grads.h as number].length === 1 ? tf.scalar(c.grads.h as number) : [],
          { atol: 1e-5, rtol: 1e-5, label: 'grad h' },
        );
        width.dispose();
      }
    });
  }

  it('leave-one-out excludes each point from its own prediction (hand-computed)', () => {
    // boxcar width 1.5 on x = [0, 1, 2]: point 0 sees {1}, point 1 sees {0, 2}, point 2 sees {1}
    const keys = tf.tensor1d([0, 1, 2]);
    const values = tf.tensor1d([1, 4, 3]);
    const { predictions } = nadarayaWatson(keys, keys, values, {
      kernel: 'boxcar',
      width: 1.5,
      excludeSelf: true,
    });
    expectTensorsClose(predictions, [4, 2, 4]);
    const loss = leaveOneOutLoss(keys, values, { kernel: 'boxcar', width: 1.5 });
    expectTensorsClose(loss, tf.scalar(((1 - 4) ** 2 + (4 - 2) ** 2 + (3 - 4) ** 2) / 3));
  });

  it('leave-one-out loss has a finite-difference gradient in the width', () => {
    const keys = tf.tensor1d([0, 0.4, 1.1, 1.9, 2.5, 3.2]);
    const values = tf.tensor1d([0.2, 1.1, 2.8, 3.9, 3.7, 2.5]);
    for (const kernel of ['gaussian', 'epanechnikov'] as const) {
      checkGradients((h) => leaveOneOutLoss(keys, values, { kernel, width: h }), [tf.scalar(0.9)], {
        eps: 1e-3,
        label: kernel,
      });
    }
  });

  // Tensors are made in hooks, after the root hook has picked the backend.
  let q: tf.Tensor;
  before(() => {
    q = tf.tensor1d([0, 1]);
  });
  const errors: [string, () => unknown, RegExp][] = [
    [
      'a zero width',
      () => nadarayaWatson(q, q, q, { width: 0 }),
      /width: expected a finite number > 0, got number 0/,
    ],
    [
      'a negative width tensor',
      () => nadarayaWatson(q, q, q, { width: tf.scalar(-1) }),
      /width: expected a finite number > 0, got -1/,
    ],
    [
      'an unknown kernel',
      () => nadarayaWatson(q, q, q, { kernel: 'cosine' as KernelName }),
      /kernel: expected one of gaussian, boxcar, epanechnikov, got cosine/,
    ],
    [
      'values of another length',
      () => nadarayaWatson(q, q, tf.tensor1d([1, 2, 3])),
      /values: expected shape \[K\] with K = 2 \(from keys\), got \[3\]/,
    ],
    [
      '2-D queries',
      () => nadarayaWatson(tf.zeros([2, 1]), q, q),
      /queries: expected rank 1 \[Q\], got rank 2/,
    ],
    [
      'NaN targets',
      () => nadarayaWatson(q, q, tf.tensor1d([1, NaN])),
      /values: expected finite values, got NaN at flat index 1/,
    ],
    [
      'leave-one-out with Q != K',
      () => nadarayaWatson(tf.tensor1d([1]), q, q, { excludeSelf: true }),
      /excludeSelf: needs as many queries as keys, got Q = 1, K = 2/,
    ],
  ];
  for (const [what, thunk, message] of errors) {
    it(`rejects ${what} with a clear message`, () => assert.throws(thunk, message));
  }

  it('does not leak tensors', async () => {
    const keys = tf.tensor1d([0, 1, 2]);
    await expectNoLeak(() => {
      for (const kernel of KERNEL_NAMES) {
        const r = nadarayaWatson(keys, keys, keys, { kernel, width: 0.7, excludeSelf: true });
        tf.dispose([r.predictions, r.weights]);
      }
      leaveOneOutLoss(keys, keys).dispose();
    });
  });
});
