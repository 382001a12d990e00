/**
 * A hand-made `StepDecoder` whose every output is known in advance, for testing decoding loops
 * (greedy decoding, beam search) without a trained model: each example carries a next-token
 * table, and the decoder predicts `table[b][prev]` with certainty.
 *
 * With `table = [[3, 0, 0, 2], [2, 0, 0, 0]]`, `bos = 0` and `eos = 2`, greedy decoding produces
 * `[3, 2]` for the first example (0 -> 3 -> 2) and `[2]` for the second (0 -> 2): two sequences
 * that end at different steps. A table that never reaches the eos makes an example run to
 * `maxLen`. The decoder is a plain object of module functions (no `this`), so that the course's
 * grader can pass it to an answer running in another process.
 */
import * as tf from '@tensorflow/tfjs';
import { op } from '../core/op';
import { checkDtype, checkShape } from '../core/shapes';
import type { DecoderStep, StepDecoder } from './step-decoder';

/** The state of the table decoder: the tables, `[B, V]` int32 (the source itself). */
export interface TableDecoderState {
  table: tf.Tensor2D;
}

/** The logit of the predicted token (all others are 0): its probability is about 0.9999 for V < 4000. */
const CERTAIN = 20;

/**
 * `StepDecoder.start` of the table decoder: the source is the table.
 * @param src `[B, V]` int32: `src[b][v]` is the token that follows `v` in example `b`, in `[0, V)`
 * @returns `{ table }`, a copy of `src` that the caller owns
 */
export function tableDecoderStart(src: tf.Tensor2D): TableDecoderState {
  return op(
    'tableDecoderStart',
    () => {
      checkShape(src, ['B', 'V'], 'src');
      const v = src.shape[1];
      checkDtype(src, 'int32', 'src');
      const bad = Array.from(src.dataSync()).find((t) => t < 0 || t >= v);
      if (bad !== undefined) {
        throw new RangeError(
          `src: expected next tokens in [0, ${v}) (V = src.shape[1]), got ${bad}`,
        );
      }
    },
    () => ({ table: tf.clone(src) }),
  ) as unknown as TableDecoderState;
}

/**
 * `StepDecoder.step` of the table decoder: logits `[B, V]` that are `20` at `table[b][prev[b]]`
 * and 0 elsewhere; the state is returned unchanged.
 * @param prev `[B]` int32 in `[0, V)`
 * @param state what `tableDecoderStart` returned
 */
export function tableDecoderStep(
  prev: tf.Tensor1D,
  state: TableDecoderState,
): DecoderStep<TableDecoderState> {
  return op(
    'tableDecoderStep',
    () => {
      if (state === null || typeof state !== 'object') {
        throw new TypeError(`state: expected { table }, got ${String(state)}`);
      }
      const dims = checkShape(state.table, ['B', 'V'], 'state.table');
      checkShape(prev, ['B'], 'prev', { dims });
      const v = state.table.shape[1];
      checkDtype(prev, 'int32', 'prev');
      const bad = Array.from(prev.dataSync()).find((t) => t < 0 || t >= v);
      if (bad !== undefined) throw new RangeError(`prev: expected tokens in [0, ${v}), got ${bad}`);
    },
    () => {
      const v = state.table.shape[1];
      const pick = tf.oneHot(prev, v).toInt(); // [B] -> [B, V]
      const next = tf.sum(tf.mul(pick, state.table), 1).toInt(); // [B, V] -> [B]
      const logits = tf.mul(tf.oneHot(next, v).toFloat(), CERTAIN) as tf.Tensor2D; // [B, V]
      return { logits, state: { table: tf.clone(state.table) } } as unknown as tf.TensorContainer;
    },
  ) as unknown as DecoderStep<TableDecoderState>;
}

/**
 * The table decoder as a `StepDecoder` (see the module comment).
 * @param tokens optional `bos` and `eos` token ids the decoder announces
 */
export function tableDecoder(
  tokens: { bos?: number; eos?: number } = {},
): StepDecoder<TableDecoderState> {
  if (tokens === null || typeof tokens !== 'object') {
    throw new TypeError(`tokens: expected { bos?, eos? }, got ${String(tokens)}`);
  }
  return { ...tokens, start: tableDecoderStart, step: tableDecoderStep };
}
