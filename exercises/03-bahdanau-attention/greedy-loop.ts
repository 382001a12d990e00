/**
 * Exercise 03.3: the greedy decoding loop (chapter 03, "Bahdanau attention").
 *
 * A trained decoder gives, at each step, scores (logits `[B, V]`) for the next token of every
 * example. Greedy decoding feeds back the most likely one, y_t = argmax_v logits[b, v], until
 * each example has produced the end-of-sequence token `eos`, or `maxLen` tokens:
 *
 *   state = decoder.start(src)
 *   prev  = bos for every example                       ([B] int32)
 *   repeat: { logits, state } = decoder.step(prev, state); prev = argmax of logits per row
 *
 * The decoder is any `StepDecoder` (the chapter's `BahdanauSeq2Seq`, or the hand-made table
 * decoder the graded tests use). Rules for the result, one token list per example:
 * - without the bos; ending with the eos when the example produced one (the eos is included);
 * - an example that has finished keeps being fed (the batch keeps its shape), but nothing more
 *   is added to its list; the loop stops as soon as EVERY example has finished, or after
 *   `maxLen` steps (then an unfinished example has exactly `maxLen` tokens).
 *
 * Requirements: no tensor is left behind. The simplest way: run the whole loop inside
 * `tf.tidy(() => { ... })`, which frees every tensor made inside it (the decoder's included)
 * when it ends. Tips: `tf.fill([B], bos, 'int32')`; `tf.argMax(logits, 1)` gives `[B]` (make it
 * `.toInt()` before feeding it back); `.dataSync()` reads the ids to plain numbers.
 *
 * @param decoder a `StepDecoder`: `start(src)` and `step(prev [B] int32, state)`
 * @param src `[B, S]` int32 source token ids
 * @param bos the token fed at the first step
 * @param eos the token that ends an example
 * @param maxLen the most tokens generated per example (the eos included)
 * @returns the generated tokens of each example, `B` lists of numbers
 */
import * as tf from '@tensorflow/tfjs';
import type { StepDecoder } from '../../src/decode/step-decoder';
import { notImplemented } from '../../src/course/exercise';

export function greedyLoop<State>(
  decoder: StepDecoder<State>,
  src: tf.Tensor2D,
  bos: number,
  eos: number,
  maxLen: number,
): number[][] {
  void [decoder, src, bos, eos, maxLen, tf];
  return notImplemented('greedyLoop', 'exercises/03-bahdanau-attention/greedy-loop.ts');
}
