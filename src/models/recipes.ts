/**
 * How the chapters train their models, written once: the notebook's training cell and
 * `npm run bench -- targets` (time to target, same seed) read the same numbers, so the bench
 * measures what a learner runs.
 */

/** Chapter 03: the Bahdanau (and baseline) encoder-decoder on human-readable dates. */
export const DATES_RECIPE = {
  /** Pairs per update. */
  batchSize: 128,
  /** Adam's learning rate (PyTorch reached 99% in ~200 updates with it). */
  lr: 3e-3,
  /** Gradients are clipped to this global norm: recurrent nets spike early without it. */
  clipNorm: 1,
  /** Updates between greedy evaluations on the validation dates. */
  evalEvery: 50,
  /** Validation dates decoded at each evaluation (a sample keeps evaluation cheap). */
  validDates: 500,
  /** Training stops once this fraction of the validation dates is exactly right. */
  targetExactMatch: 0.995,
  /** Seconds of training the notebook allows each model in its default mode. */
  budgetSec: 60,
  /** Updates at most (the time budget or the target usually stops it first). */
  maxSteps: 5000,
} as const;

/**
 * Chapter 06: the Transformer (`TransformerSeq2Seq`) on the same dates, with the paper's warm-up
 * schedule (`warmupInverseSqrt({ warmup, peak })`). The target: >= 99% test exact match
 * within 90 s of training on a 2-core machine.
 */
export const TRANSFORMER_DATES_RECIPE = {
  /** The model: small, since a date needs little capacity and every update must be cheap. */
  model: {
    dModel: 32,
    numHeads: 4,
    encoderLayers: 2,
    decoderLayers: 2,
    dHidden: 64,
    /** Pre-norm: trains at this rate without a long warm-up (see `TransformerConfig.norm`). */
    norm: 'pre',
    dropout: 0,
    labelSmoothing: 0,
    tieOutput: true,
  },
  /** Pairs per update. */
  batchSize: 64,
  /**
   * The rate reached at the end of warm-up, then decaying as `1 / sqrt(step)`. High for Adam, and
   * fine for a pre-norm model this small: 5e-3 with 50 warm-up updates learned about half as fast
   * per update.
   */
  peakLr: 1e-2,
  /** Warm-up updates. */
  warmup: 200,
  /** Gradients are clipped to this global norm. */
  clipNorm: 1,
  /** Updates between greedy evaluations on the validation dates. */
  evalEvery: 100,
  /** Validation dates decoded at each evaluation. */
  validDates: 500,
  /** Training stops once this fraction of the validation dates is exactly right. */
  targetExactMatch: 0.995,
  /** Seconds of training the notebook allows in its default mode (the target). */
  budgetSec: 90,
  /** Updates at most. */
  maxSteps: 5000,
} as const;

/**
 * Chapter 04: Luong's models on chapter 03's dates, trained the same way (same batch size, rate,
 * clipping, evaluation and target) so that its comparison table is fair to Bahdanau; only the
 * attention-specific choices differ.
 */
export const LUONG_RECIPE = {
  ...DATES_RECIPE,
  /** Local window half-width `Dw` for local-m and local-p (dates are 8-30 characters long). */
  window: 5,
} as const;
