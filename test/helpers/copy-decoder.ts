/**
 * A hand-made copying decoder for tests of decoding loops and exact-match helpers: every output is
 * known without training.
 */
import * as tf from '@tensorflow/tfjs';
import { BOS, EOS } from '../../src/data/vocab';
import type { DecoderStep, StepDecoder } from '../../src/decode/step-decoder';

export type CopyState = { src: tf.Tensor2D; lens: tf.Tensor1D; t: tf.Tensor1D };

/**
 * A decoder that copies its source, one character per step, then writes `EOS`; it writes the
 * id `wrongFor` as the id after it (a wrong character) wherever the source has it. Its weights are
 * one-hot on the position it copies.
 */
export class CopyDecoder implements StepDecoder<CopyState> {
  readonly bos = BOS;
  readonly eos = EOS;
  constructor(
    readonly vocabSize: number,
    readonly wrongFor = -1,
  ) {}

  start(src: tf.Tensor2D, srcValidLens?: tf.Tensor1D): CopyState {
    const lens = srcValidLens ?? tf.fill([src.shape[0]], src.shape[1], 'int32');
    return {
      src: src.clone(),
      lens: lens.clone() as tf.Tensor1D,
      t: tf.zeros([src.shape[0]], 'int32'),
    };
  }

  step(_prev: tf.Tensor1D, state: CopyState): DecoderStep<CopyState> {
    return tf.tidy(() => {
      const srcLen = state.src.shape[1];
      const at = tf.oneHot(state.t, srcLen).toFloat() as tf.Tensor2D; // [B, S]
      const ids = tf.sum(tf.mul(state.src.toFloat(), at), 1).toInt(); // [B]
      const wrong = tf.where(tf.equal(ids, this.wrongFor), tf.add(ids, tf.scalar(1, 'int32')), ids);
      const next = tf.where(tf.less(state.t, state.lens), wrong, tf.fill(ids.shape, EOS, 'int32'));
      const logits = tf.mul(tf.oneHot(next as tf.Tensor1D, this.vocabSize).toFloat(), 10);
      return {
        logits: logits as tf.Tensor2D,
        state: {
          src: state.src.clone(),
          lens: state.lens.clone(),
          t: tf.add(state.t, tf.scalar(1, 'int32')) as tf.Tensor1D,
        },
        weights: at,
      };
    }) as DecoderStep<CopyState>;
  }
}
