/**
 * Greedy decoding: at every step, feed back the most likely token, `y_t = argmax_v p(v | y_<t, x)`,
 * until each example has produced the end-of-sequence token or `maxLen` tokens. Works with any
 * `StepDecoder` (RNN or Transformer).
 */
import * as tf from '@tensorflow/tfjs';
import { checkInt, checkShape } from '../core/shapes';
import { checkValidLens } from '../attention/masks';
import {
  checkStepDecoder,
  decodeStep,
  disposeState,
  startDecoding,
  type StepDecoder,
} from './step-decoder';

/** Options of `greedyDecode`. */
export interface GreedyOptions {
  /** Token fed at the first step. Defaults to the decoder's `bos`; one of the two is required. */
  bos?: number;
  /** Token that ends an example. Defaults to the decoder's `eos`; one of the two is required. */
  eos?: number;
  /** Most tokens generated per example, the eos included. */
  maxLen: number;
  /** `[B]` int32 source lengths (positions at or past them are padding). */
  srcValidLens?: tf.Tensor1D;
}

/** What `greedyDecode` returns, one entry per example. */
export interface GreedyResult {
  /**
   * The generated tokens of each example, without the bos, ending with the eos when one was
   * produced (so `tokens[b].length` equals the number of rows of `weights[b]`).
   */
  tokens: number[][];
  /**
   * Each example's attention weights, `[T_b, S]`: row `t` is the step that produced `tokens[b][t]`,
   * ready for an alignment heatmap. `null` if the decoder gives no weights.
   */
  weights: number[][][] | null;
  /** `true` for an example that produced the eos within `maxLen` tokens. */
  finished: boolean[];
  /** Sum over each example's tokens of `log p(token)`, the score beam search compares. */
  logProb: number[];
}

function resolveToken(
  value: number | undefined,
  fallback: number | undefined,
  name: string,
): number {
  const token = value ?? fallback;
  if (token === undefined) {
    throw new Error(`${name}: expected a token id in the options or on the decoder, got neither`);
  }
  return checkInt(token, name, 0);
}

/**
 * Decodes a batch greedily (see the module comment). Finished examples keep being fed (the batch
 * keeps its shape) but their outputs are ignored; decoding stops when every example is finished.
 * Leaves no tensors behind, also when the decoder throws.
 * @param decoder any `StepDecoder`
 * @param src `[B, S]` int32 source token ids
 * @returns per example: tokens, attention weights `[T_b, S]`, finished flag, and log-probability
 */
export function greedyDecode<State>(
  decoder: StepDecoder<State>,
  src: tf.Tensor2D,
  options: GreedyOptions,
): GreedyResult {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `options: expected {maxLen, bos?, eos?, srcValidLens?}, got ${String(options)}`,
    );
  }
  checkStepDecoder(decoder);
  const bos = resolveToken(options.bos, decoder.bos, 'bos');
  const eos = resolveToken(options.eos, decoder.eos, 'eos');
  const maxLen = checkInt(options.maxLen, 'maxLen');
  checkShape(src, ['B', 'S'], 'src');
  const [batch, srcLen] = src.shape;
  if (options.srcValidLens !== undefined) {
    checkShape(options.srcValidLens, [batch], 'srcValidLens');
    checkValidLens(options.srcValidLens, batch, 1, srcLen, 'srcValidLens');
  }
  const state0 = startDecoding(decoder, src, options.srcValidLens);

  const tokens: number[][] = Array.from({ length: batch }, () => []);
  const weights: number[][][] = Array.from({ length: batch }, () => []);
  const finished: boolean[] = Array<boolean>(batch).fill(false);
  const logProb: number[] = Array<number>(batch).fill(0);
  let hasWeights: boolean | undefined;
  let state = state0;
  let prev: tf.Tensor1D = tf.fill([batch], bos, 'int32');
  try {
    for (let t = 0; t < maxLen && !finished.every(Boolean); t++) {
      const out = decodeStep(decoder, prev, state);
      disposeState(state);
      state = out.state;
      try {
        if (hasWeights === undefined) hasWeights = out.weights !== undefined;
        if (hasWeights !== (out.weights !== undefined)) {
          throw new Error(`decoder.step: gave attention weights at some steps only (step ${t})`);
        }
        if (out.weights !== undefined && out.weights.shape[1] !== srcLen) {
          throw new Error(
            `decoder.step weights: expected shape [B, S] = [${batch}, ${srcLen}], got [${out.weights.shape.join(', ')}]`,
          );
        }
        const [next, chosen] = tf.tidy(() => {
          const ids = tf.argMax(out.logits, 1).toInt() as tf.Tensor1D; // [B, V] -> [B]
          const logp = tf.logSoftmax(out.logits); // [B, V]
          const pick = tf.oneHot(ids, out.logits.shape[1]).toBool(); // [B, V]
          // where, not a product: a masked (-Infinity) score times 0 would be NaN.
          const lp = tf.sum(tf.where(pick, logp, tf.zerosLike(logp)), 1); // [B, V] -> [B]
          return [ids, lp];
        });
        prev.dispose();
        prev = next as tf.Tensor1D;
        const ids = next.dataSync();
        const lps = chosen.dataSync();
        chosen.dispose();
        const rows = out.weights?.arraySync();
        for (let b = 0; b < batch; b++) {
          if (finished[b]) continue;
          tokens[b].push(ids[b]);
          logProb[b] += lps[b];
          if (rows) weights[b].push(rows[b]);
          if (ids[b] === eos) finished[b] = true;
        }
      } finally {
        tf.dispose([out.logits, ...(out.weights ? [out.weights] : [])]);
      }
    }
  } finally {
    disposeState(state);
    prev.dispose();
  }
  return { tokens, weights: hasWeights ? weights : null, finished, logProb };
}
