/**
 * What a layer costs as sequences grow, measured on this machine: self-attention against a
 * recurrent layer (Vaswani et al., 2017, Table 1: self-attention does `O(T^2 D)` work in `O(1)`
 * sequential operations, a recurrent layer `O(T D^2)` work in `O(T)` sequential operations).
 *
 * For each length `T` the layer runs on one random batch `[B, T, D]` and three things are recorded:
 * - the wall-clock time of a forward pass (median of `repeats` runs after one warm-up, including
 *   reading the result back, so that asynchronous backends have finished);
 * - the peak memory held by tensors during the pass, above what was held before (`tf.profile`);
 * - the number of kernels (tensor operations) the pass dispatched, which for a recurrent layer
 *   grows with `T` because step `t` needs the state of step `t - 1`, and for self-attention does
 *   not: all positions go through the same few batched products at once.
 */
import * as tf from '@tensorflow/tfjs';
import { GRU } from '../core/recurrent';
import { checkInt } from '../core/shapes';
import { MultiHeadAttention } from '../attention/multihead';

/** One measurement of `measureLayerCost`. */
export interface LayerCost {
  /** Sequence length `T`. */
  length: number;
  /** Median wall-clock time of one forward pass, in milliseconds. */
  ms: number;
  /** Peak bytes held by tensors during the pass, above those held before it. */
  peakBytes: number;
  /** Kernels (tensor operations) dispatched by one pass. */
  kernels: number;
}

/** Options of `measureLayerCost`. */
export interface LayerCostOptions {
  /** Sequence lengths `T` to measure, each an integer >= 1. */
  lengths: number[];
  /** Width `D`. Defaults to 64. */
  dModel?: number;
  /** Heads `H` of the attention layer (must divide `D`). Defaults to 4. */
  numHeads?: number;
  /** Batch size `B`. Defaults to 1. */
  batch?: number;
  /** Timed runs per length (after one warm-up); the median is kept. Defaults to 3. */
  repeats?: number;
  /** Seed of the weights and inputs. Defaults to 0. */
  seed?: number;
}

/** What `measureLayerCost` returns: one row per length for each layer. */
export interface LayerCostReport {
  selfAttention: LayerCost[];
  gru: LayerCost[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Times, profiles and counts the kernels of `run` (which returns the tensor to read back). */
async function measure(length: number, run: () => tf.Tensor, repeats: number): Promise<LayerCost> {
  tf.tidy(run).dispose(); // warm-up: compiles kernels, fills caches
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    const out = tf.tidy(run);
    out.dataSync();
    times.push(performance.now() - start);
    out.dispose();
  }
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    tf.tidy(run).dispose();
  });
  return {
    length,
    ms: median(times),
    peakBytes: Math.max(0, info.peakBytes - before),
    kernels: info.kernels.length,
  };
}

/**
 * Measures a multi-head self-attention layer (`MultiHeadAttention`, queries, keys and values all
 * the same sequence) and a one-directional `GRU` of the same width on the same inputs, for each
 * length. Leaves no tensors behind.
 * @returns `{ selfAttention, gru }`, one `LayerCost` per length, in the order given
 */
export async function measureLayerCost(options: LayerCostOptions): Promise<LayerCostReport> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `options: expected { lengths, ... }, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const { lengths } = options;
  if (!Array.isArray(lengths) || lengths.length === 0) {
    throw new TypeError(
      `lengths: expected a non-empty array of integers >= 1, got ${JSON.stringify(lengths)}`,
    );
  }
  lengths.forEach((t, i) => checkInt(t, `lengths[${i}]`));
  const dModel = checkInt(options.dModel ?? 64, 'dModel');
  const numHeads = checkInt(options.numHeads ?? 4, 'numHeads');
  const batch = checkInt(options.batch ?? 1, 'batch');
  const repeats = checkInt(options.repeats ?? 3, 'repeats');
  const seed = options.seed ?? 0;
  const attention = new MultiHeadAttention({ dModel, numHeads, seed }); // throws on a bad H
  const gru = new GRU({ inputSize: dModel, hiddenSize: dModel, seed });
  const report: LayerCostReport = { selfAttention: [], gru: [] };
  try {
    for (const length of lengths) {
      const x = tf.randomNormal([batch, length, dModel], 0, 1, 'float32', seed + length); // [B, T, D]
      try {
        report.selfAttention.push(
          await measure(length, () => attention.apply(x, x, x).output, repeats),
        );
        report.gru.push(await measure(length, () => gru.apply(x).outputs, repeats));
      } finally {
        x.dispose();
      }
    }
  } finally {
    attention.dispose();
    gru.dispose();
  }
  return report;
}
