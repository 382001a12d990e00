// Shared by the tests of the RNN encoder-decoders (chapters 03 and 04): random padded batches and
// step-by-step decoding on the teacher's inputs.
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../src/core/random';
import type { Seq2SeqBatch } from '../../src/data/batches';
import {
  decodeStep,
  disposeState,
  startDecoding,
  type StepDecoder,
} from '../../src/decode/step-decoder';

const PAD = 0;
const BOS = 1;
const EOS = 2;

/**
 * A random padded batch shaped like the chapter's date batches: ids in `[3, V)` on real
 * positions, PAD after each row's length, `tgtIn = BOS y_1 ..`, `tgtOut = y_1 .. EOS`.
 */
export function randomSeq2SeqBatch(
  srcVocab: number,
  tgtVocab: number,
  rows: number,
  srcLen: number,
  tgtLen: number,
  seed: number,
): Seq2SeqBatch {
  const rng = createRng(seed);
  const src: number[][] = [];
  const srcLens: number[] = [];
  const tgtIn: number[][] = [];
  const tgtOut: number[][] = [];
  const tgtLens: number[] = [];
  for (let b = 0; b < rows; b++) {
    const sl = b === 0 ? srcLen : rng.int(1, srcLen + 1);
    srcLens.push(sl);
    src.push(Array.from({ length: srcLen }, (_, j) => (j < sl ? rng.int(3, srcVocab) : PAD)));
    const tl = b === 0 ? tgtLen : rng.int(1, tgtLen + 1);
    tgtLens.push(tl);
    const ys = Array.from({ length: tl - 1 }, () => rng.int(3, tgtVocab));
    const out = [...ys, EOS];
    tgtOut.push(Array.from({ length: tgtLen }, (_, t) => (t < tl ? out[t] : PAD)));
    tgtIn.push(
      Array.from({ length: tgtLen }, (_, t) => (t === 0 ? BOS : t < tl ? out[t - 1] : PAD)),
    );
  }
  return {
    src: tf.tensor2d(src, undefined, 'int32'),
    srcLens: tf.tensor1d(srcLens, 'int32'),
    tgtIn: tf.tensor2d(tgtIn, undefined, 'int32'),
    tgtOut: tf.tensor2d(tgtOut, undefined, 'int32'),
    tgtLens: tf.tensor1d(tgtLens, 'int32'),
  };
}

/** Runs the decoder step by step on the teacher's inputs: logits `[B, T, V]`, weights `[B, T, S]`. */
export function stepwise<State>(
  model: StepDecoder<State>,
  batch: Seq2SeqBatch,
): { logits: tf.Tensor; weights: tf.Tensor | null } {
  let state = startDecoding(model, batch.src, batch.srcLens);
  const logits: tf.Tensor[] = [];
  const weights: tf.Tensor[] = [];
  const inputs = tf.unstack(batch.tgtIn, 1) as tf.Tensor1D[];
  for (const prev of inputs) {
    const out = decodeStep(model, prev, state);
    disposeState(state);
    state = out.state;
    logits.push(out.logits);
    if (out.weights) weights.push(out.weights);
  }
  disposeState(state);
  const result = {
    logits: tf.stack(logits, 1),
    weights: weights.length > 0 ? tf.stack(weights, 1) : null,
  };
  tf.dispose([...logits, ...weights, ...inputs]);
  return result;
}
