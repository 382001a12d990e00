/**
 * Self-attention without positional information is blind to order: permuting the input positions
 * permutes the output positions the same way (permutation equivariance), and adding positional
 * encodings breaks this.
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention } from '../../src/attention/multihead';
import { addPositionalEncoding, sinusoidalEncoding } from '../../src/attention/positional';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

describe('order blindness of self-attention', () => {
  const perm = [3, 0, 4, 1, 2];
  const mha = new MultiHeadAttention({ dModel: 8, numHeads: 2, seed: 3 });
  const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 7); // [B, T, D]
  const self = (t: tf.Tensor) => mha.apply(t, t, t);
  after(() => {
    mha.dispose();
    x.dispose();
  });

  it('permuting the input positions permutes the outputs and the weights the same way', () => {
    const xp = tf.gather(x, perm, 1); // [B, T, D], row t is x[perm[t]]
    const plain = self(x);
    const permuted = self(xp);
    expectTensorsClose(permuted.output, tf.gather(plain.output, perm, 1), { atol: 1e-5 });
    // weights [B, H, T, S]: both the query rows and the key columns are permuted
    const w = tf.gather(tf.gather(plain.weights, perm, 2), perm, 3);
    expectTensorsClose(permuted.weights, w, { atol: 1e-6 });
  });

  it('with sinusoidal encodings added, the same permutation no longer just permutes the output', () => {
    const pe = sinusoidalEncoding(5, 8);
    const plain = self(addPositionalEncoding(x, pe)).output;
    const permuted = self(addPositionalEncoding(tf.gather(x, perm, 1), pe)).output;
    const gap = tf.max(tf.abs(tf.sub(permuted, tf.gather(plain, perm, 1)))).dataSync()[0];
    assert.ok(gap > 1e-2, `outputs still only permuted (max difference ${gap})`);
  });

  it('leaves no tensors behind', async () => {
    const xp = tf.gather(x, perm, 1);
    await expectNoLeak(() => tf.dispose(self(xp)));
    xp.dispose();
  });
});
