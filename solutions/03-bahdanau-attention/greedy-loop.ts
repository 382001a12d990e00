/**
 * Reference answer to exercise 03.3: the greedy decoding loop. See the exercise file for the task.
 * @param decoder a `StepDecoder`: `start(src)` and `step(prev [B] int32, state)`
 * @param src `[B, S]` int32 source token ids
 * @param bos the token fed at the first step
 * @param eos the token that ends an example
 * @param maxLen the most tokens generated per example (the eos included)
 * @returns the generated tokens of each example, `B` lists of numbers
 */
import * as tf from '@tensorflow/tfjs';
import type { StepDecoder } from '../../src/decode/step-decoder';

export function greedyLoop<State>(
  decoder: StepDecoder<State>,
  src: tf.Tensor2D,
  bos: number,
  eos: number,
  maxLen: number,
): number[][] {
  const batch = src.shape[0];
  const tokens: number[][] = Array.from({ length: batch }, () => []);
  const finished: boolean[] = Array.from({ length: batch }, () => false);
  // Every tensor of the loop (states, logits, ids) is freed when the tidy ends.
  tf.tidy(() => {
    let state = decoder.start(src);
    let prev = tf.fill([batch], bos, 'int32') as tf.Tensor1D;
    for (let t = 0; t < maxLen && !finished.every(Boolean); t++) {
      const out = decoder.step(prev, state);
      state = out.state;
      prev = tf.argMax(out.logits, 1).toInt() as tf.Tensor1D; // [B, V] -> [B]
      const ids = prev.dataSync();
      for (let b = 0; b < batch; b++) {
        if (finished[b]) continue; // fed, but its outputs are ignored
        tokens[b].push(ids[b]);
        if (ids[b] === eos) finished[b] = true;
      }
    }
  });
  return tokens;
}
