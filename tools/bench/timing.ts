/**
 * How the bench times things: the median of several runs after one warm-up run, in wall time and
 * in this process's CPU time (which other jobs on a shared machine inflate less than wall time).
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainStep } from './train-steps';

/** Time budget of one measurement, after warm-up: enough runs for a stable median. */
export const BUDGET_MS = 2500;
export const MIN_RUNS = 3;
export const MAX_RUNS = 15;

/** Median wall and CPU time of a step, in ms, and how many timed runs they are the median of. */
export interface Timing {
  ms: number;
  cpuMs: number;
  runs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Median wall time of `step` in ms, after one warm-up run (kernel setup, XNNPACK packing, lazy
 * backend init). `step` must wait for its results (dataSync), so that the time is the compute.
 */
export function medianMs(step: () => void, minRuns = 1): Timing {
  const t0 = performance.now();
  step();
  const first = performance.now() - t0;
  // A step slower than the whole budget (the cpu backend) gets `minRuns` timed runs, not MIN_RUNS.
  const fit = Math.floor(BUDGET_MS / Math.max(first, 1e-3));
  const runs = Math.max(
    minRuns,
    first > BUDGET_MS ? 1 : Math.max(MIN_RUNS, Math.min(MAX_RUNS, fit)),
  );
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    step();
    const used = process.cpuUsage(cpuStart);
    times.push(performance.now() - start);
    cpu.push((used.user + used.system) / 1000);
  }
  return { ms: median(times), cpuMs: median(cpu), runs };
}

/** One training-step measurement, as recorded in the JSON output. */
export interface TrainResult {
  name: string;
  batch: number;
  parameters: number;
  msPerStep: number;
  /** Median CPU time of this process per step (all its threads). */
  cpuMsPerStep: number;
  examplesPerSecond: number;
  runs: number;
  /** Tensors alive after the timed runs minus before: 0 when a step frees everything it makes. */
  tensorsLeaked: number;
}

/** Times full training steps (forward, backward, Adam update, the loss read back). */
export function measureTrainStep(make: () => TrainStep): TrainResult {
  const step = make();
  try {
    const before = tf.memory().numTensors;
    const once = (): void => {
      const loss = step.run();
      loss.dataSync();
      loss.dispose();
    };
    // The first steps build kernels and pack weights: a second warm-up, then at least 5 timed
    // steps, so a slow first step does not leave a median of one.
    once();
    const { ms, cpuMs, runs } = medianMs(once, 5);
    return {
      name: step.name,
      batch: step.batch,
      parameters: step.parameters,
      msPerStep: ms,
      cpuMsPerStep: cpuMs,
      examplesPerSecond: (1000 * step.batch) / ms,
      runs,
      tensorsLeaked: tf.memory().numTensors - before,
    };
  } finally {
    step.dispose();
  }
}

/** Memory after a given number of training steps. */
export interface MemoryMark {
  step: number;
  /** Live tensors (`tf.memory().numTensors`). */
  tensors: number;
  /** Bytes held by live tensors (`tf.memory().numBytes`). */
  bytes: number;
  /** Size of the wasm heap in bytes (it only grows), or `null` on another backend. */
  heapBytes: number | null;
}

/** The wasm backend's heap size, or `null` when the active backend is not wasm. */
export function wasmHeapBytes(): number | null {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

/**
 * Runs `steps` full training steps (the loss read back each time, as `fit()` does every few
 * steps) and records memory after each step listed in `marks`. Flat memory means the numbers at
 * the later marks equal those at the first.
 */
export function memoryOverSteps(
  make: () => TrainStep,
  steps: number,
  marks: number[],
): MemoryMark[] {
  const step = make();
  try {
    const out: MemoryMark[] = [];
    for (let i = 1; i <= steps; i++) {
      const loss = step.run();
      loss.dataSync();
      loss.dispose();
      if (marks.includes(i)) {
        const m = tf.memory();
        out.push({ step: i, tensors: m.numTensors, bytes: m.numBytes, heapBytes: wasmHeapBytes() });
      }
    }
    return out;
  } finally {
    step.dispose();
  }
}
