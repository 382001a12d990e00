/**
 * Chapter 03's measurements, written once: train an encoder-decoder until a validation exact
 * match or a time budget, then measure greedy exact match on held-out pairs (`trainToTarget`),
 * the line that reports it (`exactMatchLine`), and the exact match of several test sets decoded
 * together (`exactMatchByGroup`, the length experiment's evaluation). The notebook and
 * `npm run bench -- targets` call the same `trainToTarget`, so the bench measures what a learner
 * runs.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Module } from '../core/module';
import { checkInt, checkPositive } from '../core/shapes';
import type { Seq2SeqBatch, Seq2SeqDataset, TextPair } from '../data/batches';
import type { StepDecoder } from '../decode/step-decoder';
import { greedyExactMatch, translate, type TranslateOptions } from '../decode/translate';
import { fit, type FitResult, type StopReason } from '../train/fit';
import { Adam } from '../train/optimizers';
import type { Schedule } from '../train/schedules';

/** An encoder-decoder that trains through `loss(batch)` and decodes step by step (chapter 03's). */
export interface Seq2SeqLearner extends Module, StepDecoder<unknown> {
  /** Teacher-forced masked cross-entropy of a batch. */
  loss(batch: Seq2SeqBatch): tf.Scalar;
}

/** How a seq2seq model is trained to a target (`DATES_RECIPE` is one). */
export interface Seq2SeqRecipe {
  /** Pairs per update. */
  batchSize: number;
  /** Adam's learning rate, or a schedule of it (the Transformer's warm-up). */
  lr: number | Schedule;
  /** Global gradient-norm clip. */
  clipNorm: number;
  /** Updates between greedy evaluations on the validation pairs. */
  evalEvery: number;
  /** Training stops once this fraction of the validation pairs is exactly right. */
  targetExactMatch: number;
  /** Seconds of training allowed. */
  budgetSec: number;
  /** Updates at most. */
  maxSteps: number;
  /** Adam's second-moment decay. Defaults to Adam's 0.999 (the Transformer's recipe uses 0.98). */
  beta2?: number;
}

/** Options of `trainToTarget`. */
export interface TrainToTargetOptions {
  /** Training pairs, batched (`seq2seqDataset`). */
  train: Seq2SeqDataset;
  /** Validation pairs, decoded greedily at each evaluation. */
  valid: readonly TextPair[];
  /** Held-out test pairs, decoded greedily once training stops. */
  test: readonly TextPair[];
  /** Vocabularies and `maxLen` of the greedy decoding. */
  text: TranslateOptions;
  /** The recipe; `budgetSec`, `maxSteps`, `evalEvery` below override its values. */
  recipe: Seq2SeqRecipe;
  /** Seconds of training allowed. Defaults to `recipe.budgetSec`. */
  budgetSec?: number;
  /** Updates at most. Defaults to `recipe.maxSteps`. */
  maxSteps?: number;
  /** Updates between evaluations. Defaults to `recipe.evalEvery`. */
  evalEvery?: number;
  /** Updates between loss reads (and progress rows). Defaults to 10. */
  logEvery?: number;
  /** Seed of the data order. Defaults to 0. */
  seed?: number;
  /** Label of the progress display. */
  label?: string;
  /** Show the live progress display. Defaults to true. */
  progress?: boolean;
}

/** What `trainToTarget` measured. */
export interface TargetRun {
  /** `fit`'s result (history for `historyChart`). */
  run: FitResult;
  /** Updates done. */
  steps: number;
  /** Seconds of training, evaluations included (`fit`'s count). */
  seconds: number;
  /** Why training stopped: `'target'` when the validation exact match reached the recipe's. */
  stoppedBy: StopReason;
  /** The last validation exact match. */
  valid: number;
  /** Greedy exact match on the test pairs. */
  test: number;
  /** Number of test pairs. */
  testSize: number;
}

function checkPairs(pairs: unknown, name: string): void {
  if (!Array.isArray(pairs) || pairs.length === 0) {
    throw new TypeError(
      `trainToTarget: ${name}: expected a non-empty array of { source, target }, got ${Array.isArray(pairs) ? 'an empty array' : typeof pairs}`,
    );
  }
}

/**
 * Trains `model` with Adam (the recipe's learning rate, `beta2`, clipping and batch size) until the greedy
 * exact match on `valid` reaches `recipe.targetExactMatch`, the time budget runs out or
 * `maxSteps` updates ran, then measures greedy exact match on `test`.
 *
 * ```ts
 * const r = await ah.trainToTarget(model, { train, valid, test, text, recipe: ah.DATES_RECIPE });
 * console.log(ah.exactMatchLine(r, 'held-out dates'));
 * ```
 * @param model an encoder-decoder with `loss(batch)` (`BahdanauSeq2Seq`, `BaselineSeq2Seq`)
 */
export async function trainToTarget(
  model: Seq2SeqLearner,
  opts: TrainToTargetOptions,
): Promise<TargetRun> {
  if (model === null || typeof model !== 'object' || typeof model.loss !== 'function') {
    throw new TypeError(
      `trainToTarget: model: expected an encoder-decoder with loss(batch), got ${model === null ? 'null' : typeof model}`,
    );
  }
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(
      `trainToTarget: options: expected { train, valid, test, text, recipe }, got ${String(opts)}`,
    );
  }
  checkPairs(opts.valid, 'valid');
  checkPairs(opts.test, 'test');
  const r = opts.recipe;
  if (r === null || typeof r !== 'object') {
    throw new TypeError(`trainToTarget: recipe: expected a Seq2SeqRecipe, got ${String(r)}`);
  }
  const budgetSec = checkPositive(opts.budgetSec ?? r.budgetSec, 'budgetSec');
  const maxSteps = checkInt(opts.maxSteps ?? r.maxSteps, 'maxSteps');
  const evalEvery = checkInt(opts.evalEvery ?? r.evalEvery, 'evalEvery');
  const valid = opts.valid;
  const optimizer =
    r.beta2 === undefined ? undefined : new Adam(model.variables(), { lr: r.lr, beta2: r.beta2 });
  const run = await fit({
    model,
    loss: (batch: Seq2SeqBatch) => model.loss(batch),
    data: { train: opts.train, valid },
    batchSize: r.batchSize,
    ...(optimizer === undefined ? { lr: r.lr } : { optimizer }),
    clipNorm: r.clipNorm,
    steps: maxSteps,
    evalEvery,
    logEvery: Math.min(opts.logEvery ?? 10, evalEvery),
    seed: opts.seed ?? 0,
    metrics: { 'valid exact match': (m) => greedyExactMatch(m, valid, opts.text) },
    target: { metric: 'valid exact match', value: r.targetExactMatch },
    timeBudgetSec: budgetSec,
    label: opts.label,
    progress: opts.progress,
  }).finally(() => optimizer?.dispose());
  const test = greedyExactMatch(model, opts.test, opts.text);
  return {
    run,
    steps: run.steps,
    seconds: run.seconds,
    stoppedBy: run.stoppedBy,
    valid: run.metrics['valid exact match'] ?? NaN,
    test,
    testSize: opts.test.length,
  };
}

/**
 * The line that reports a `trainToTarget` run, e.g.
 * `test exact match: 99.6% (2,000 held-out dates, 41 s of training)`.
 * @param what what the test pairs are, e.g. `'held-out dates'`
 */
export function exactMatchLine(
  result: Pick<TargetRun, 'test' | 'testSize' | 'seconds'>,
  what: string,
): string {
  if (
    result === null ||
    typeof result !== 'object' ||
    !Number.isFinite(result.test) ||
    !Number.isFinite(result.seconds)
  ) {
    throw new TypeError(
      `exactMatchLine: result: expected { test, testSize, seconds } numbers, got ${JSON.stringify(result)}`,
    );
  }
  checkInt(result.testSize, 'testSize');
  if (typeof what !== 'string' || what.trim() === '') {
    throw new TypeError(`exactMatchLine: what: expected a non-empty string, got ${String(what)}`);
  }
  return (
    `test exact match: ${(100 * result.test).toFixed(1)}% ` +
    `(${result.testSize.toLocaleString('en-US')} ${what}, ${result.seconds.toFixed(0)} s of training)`
  );
}

/**
 * The greedy exact match of each group of pairs (for instance one test set per input length),
 * decoded together in batches of up to `opts.batchSize` (default 500): one decoding for all
 * groups instead of one per group. `opts.maxLen` must cover the longest target plus the `EOS`.
 * @returns one fraction per group, in order
 */
export function exactMatchByGroup(
  decoder: StepDecoder<unknown>,
  groups: readonly (readonly TextPair[])[],
  opts: TranslateOptions,
): number[] {
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new TypeError(
      `exactMatchByGroup: groups: expected a non-empty array of arrays of pairs, got ${Array.isArray(groups) ? 'an empty array' : typeof groups}`,
    );
  }
  groups.forEach((g, i) => {
    if (!Array.isArray(g) || g.length === 0) {
      throw new TypeError(
        `exactMatchByGroup: groups[${i}]: expected a non-empty array of { source, target }, got ${Array.isArray(g) ? 'an empty array' : typeof g}`,
      );
    }
  });
  const pairs = groups.flat();
  const { outputs } = translate(
    decoder,
    pairs.map((p) => p.source),
    opts,
  );
  let at = 0;
  return groups.map((g) => {
    let right = 0;
    for (const p of g) if (outputs[at++] === p.target) right++;
    return right / g.length;
  });
}
