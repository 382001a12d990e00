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
 * Chapter 04: Luong's models on chapter 03's dates, trained the same way (same batch size, rate,
 * clipping, evaluation and target) so that its comparison table is fair to Bahdanau; only the
 * attention-specific choices differ.
 */
export const LUONG_RECIPE = {
  ...DATES_RECIPE,
  /** Local window half-width `Dw` for local-m and local-p (dates are 8-30 characters long). */
  window: 5,
} as const;
