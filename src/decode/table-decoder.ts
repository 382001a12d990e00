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

/** The state of a `markovDecoder`: each example's table of next-token log-probabilities. */
export interface MarkovDecoderState {
  /** `[B, V, V]` float32: `logProbs[b][prev][next]`. */
  logProbs: tf.Tensor3D;
}

/**
 * A hand-made `StepDecoder` with uncertain predictions, for testing search (beam search against
 * greedy decoding): the next token depends only on the previous one, with probabilities given as
 * tables. `src[b][0]` picks example `b`'s table; the logits of a step are `log tables[i][prev]`.
 *
 * A trap for greedy decoding, with bos 0, eos 1 and tokens 2, 3:
 * `[[0, 0, 0.6, 0.4], [0, 1, 0, 0], [0, 0.3, 0.35, 0.35], [0, 0.99, 0.01, 0]]`: greedy takes 2
 * (0.6), after which no continuation has more than 0.35; the sequence `3, eos` has probability
 * `0.4 * 0.99 = 0.396`, the best overall, which a beam of width 2 finds.
 * @param tables `[N][V][V]` probabilities (each row sums to 1; a 0 gives a `-Infinity` logit)
 * @param tokens optional `bos` and `eos` token ids the decoder announces
 */
export function markovDecoder(
  tables: readonly number[][][],
  tokens: { bos?: number; eos?: number } = {},
): StepDecoder<MarkovDecoderState> {
  if (!Array.isArray(tables) || tables.length === 0) {
    throw new TypeError('tables: expected a non-empty array of [V][V] probability tables');
  }
  const v = tables[0].length;
  tables.forEach((table, i) => {
    if (!Array.isArray(table) || table.length !== v) {
      throw new RangeError(`tables[${i}]: expected ${v} rows (V), got ${String(table?.length)}`);
    }
    table.forEach((row, r) => {
      const sum = Array.isArray(row) ? row.reduce((a, x) => a + x, 0) : NaN;
      if (
        !Array.isArray(row) ||
        row.length !== v ||
        row.some((x) => !(x >= 0)) ||
        Math.abs(sum - 1) > 1e-6
      ) {
        throw new RangeError(
          `tables[${i}][${r}]: expected ${v} probabilities >= 0 summing to 1, got ${JSON.stringify(row)}`,
        );
      }
    });
  });
  if (tokens === null || typeof tokens !== 'object') {
    throw new TypeError(`tokens: expected { bos?, eos? }, got ${String(tokens)}`);
  }
  const logTables = tables.map((t: number[][]) => t.map((row: number[]) => row.map(Math.log)));
  return {
    ...tokens,
    start(src: tf.Tensor2D): MarkovDecoderState {
      return op(
        'markovDecoder.start',
        () => {
          checkShape(src, ['B', 'S'], 'src');
          checkDtype(src, 'int32', 'src');
          const bad = Array.from(src.dataSync()).find((t) => t < 0 || t >= tables.length);
          if (bad !== undefined) {
            throw new RangeError(
              `src: expected table indices in [0, ${tables.length}), got ${bad}`,
            );
          }
        },
        () => {
          const which = src.slice([0, 0], [-1, 1]).reshape([-1]); // [B, S] -> [B]
          // -Infinity stays -Infinity in float32: a ruled-out token
          const all = tf.tensor3d(logTables as number[][][], [tables.length, v, v]);
          return { logProbs: tf.gather(all, which) }; // [N, V, V] at [B] -> [B, V, V]
        },
      ) as unknown as MarkovDecoderState;
    },
    step(prev: tf.Tensor1D, state: MarkovDecoderState): DecoderStep<MarkovDecoderState> {
      return op(
        'markovDecoder.step',
        () => {
          const dims = checkShape(state?.logProbs, ['B', v, v], 'state.logProbs');
          checkShape(prev, ['B'], 'prev', { dims });
          checkDtype(prev, 'int32', 'prev');
        },
        () => {
          const b = prev.shape[0];
          const rows = tf.add(tf.mul(tf.range(0, b, 1, 'int32'), tf.scalar(v, 'int32')), prev); // [B]: row b V + prev
          const logits = tf.gather(state.logProbs.reshape([b * v, v]), rows) as tf.Tensor2D; // [B*V, V] at [B] -> [B, V]
          return { logits, state: { logProbs: state.logProbs } } as unknown as tf.TensorContainer;
        },
      ) as unknown as DecoderStep<MarkovDecoderState>;
    },
  };
}
