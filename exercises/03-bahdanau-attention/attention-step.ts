/**
 * Exercise 03.2: one decoder step with additive attention (chapter 03, "Bahdanau attention").
 *
 * At target step i the decoder of Bahdanau et al. (2014) looks at every encoder annotation h_j
 * with its PREVIOUS state s_{i-1} as the query, then updates its state with what it saw:
 *
 *   e_j  = v . tanh(s_{i-1} W_a + U h_j)                score of source position j
 *   a    = softmax(e) over the source positions j < srcValidLens[b]; padding gets weight 0
 *   c    = sum_j a_j h_j                                 the context vector
 *   s_i  = GRU([y ; c], s_{i-1})                         y: the embedded previous target token
 *
 * The keys `U h_j` do not change from step to step, so they are given precomputed (`keys`); the
 * annotations h_j are `memory`. The GRU is exercise 03.1's cell (PyTorch's gate equations,
 * weights r | z | n: `wX [E + M, 3D]`, `wH [D, 3D]`, `bX [3D]`, `bH [3D]`), its input the
 * concatenation `[y ; c]` in that order. Write it again here (or copy your 03.1 code in): the
 * library's `GRUCell` is not available while this exercise is graded.
 *
 * Requirements:
 * - `weights` `[B, S]`: each row sums to 1 over the valid positions, and a padding position
 *   (j >= srcValidLens[b]) gets EXACTLY 0 (mask the scores before the softmax, e.g. with a large
 *   negative number or -Infinity; multiplying the weights by the mask afterwards does not renormalise);
 * - `context` `[B, M]` and the new state `s` `[B, D]`;
 * - no tensor is left behind (`tf.tidy` can return an object of tensors).
 * Tips: `tf.matMul(sPrev, wA)` is `[B, D] x [D, A] -> [B, A]`; `.expandDims(1)` makes it
 * `[B, 1, A]` to broadcast against keys `[B, S, A]`; `tf.sum(tf.mul(t, v), -1)` dots with v;
 * `tf.range(0, S, 1, 'int32')` and `tf.less` build the padding mask; `tf.softmax(x)` normalises
 * the last axis; `tf.concat([y, c], 1)`.
 *
 * @param y `[B, E]` the embedded previous target tokens
 * @param sPrev `[B, D]` the previous decoder states s_{i-1}
 * @param keys `[B, S, A]` the projected annotations U h_j
 * @param memory `[B, S, M]` the annotations h_j
 * @param srcValidLens `[B]` int32 source lengths, each in [1, S]
 * @param wA `[D, A]` the query projection W_a
 * @param v `[A]` the score vector
 * @param gru the decoder GRU's weights `{ wX [E + M, 3D], wH [D, 3D], bX [3D], bH [3D] }`
 * @returns `{ weights [B, S], context [B, M], s [B, D] }`
 */
import * as tf from '@tensorflow/tfjs';
import { notImplemented } from '../../src/course/exercise';

export function attentionStep(
  y: tf.Tensor2D,
  sPrev: tf.Tensor2D,
  keys: tf.Tensor3D,
  memory: tf.Tensor3D,
  srcValidLens: tf.Tensor1D,
  wA: tf.Tensor2D,
  v: tf.Tensor1D,
  gru: { wX: tf.Tensor2D; wH: tf.Tensor2D; bX: tf.Tensor1D; bH: tf.Tensor1D },
): { weights: tf.Tensor2D; context: tf.Tensor2D; s: tf.Tensor2D } {
  void [y, sPrev, keys, memory, srcValidLens, wA, v, gru];
  return notImplemented('attentionStep', 'exercises/03-bahdanau-attention/attention-step.ts');
}
