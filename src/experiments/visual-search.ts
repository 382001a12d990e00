/**
 * A model of visual search (chapter 00), after feature-integration theory (Treisman & Gelade,
 * 1980): items are inspected one at a time in order of priority, and search stops at the target.
 * Priority is bottom-up saliency plus a little noise. A pop-out target is alone in its colour, so
 * it is the most salient item and is inspected first whatever the set size (flat cost). A
 * conjunction target shares each feature with half the distractors, so saliency does not single
 * it out, the order is effectively random, and on average `(N + 1) / 2` items are inspected when
 * the target is there, all N when it is not.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInt } from '../core/shapes';
import { createRng } from '../core/random';
import { sceneKeys, searchDisplay, type SearchKind } from '../data/scenes';
import { itemSaliency } from './saliency';

/**
 * Number of items inspected when going through them in decreasing `priority` until the target:
 * the target's rank (1 = inspected first). Ties go to the lower index. Without a target
 * (`targetIndex = -1`) every item is inspected: `N`.
 * @param priority one number per item (N >= 1)
 * @param targetIndex in `[-1, N - 1]`
 */
export function inspectionsUntilFound(priority: readonly number[], targetIndex: number): number {
  if (!Array.isArray(priority) || priority.length === 0) {
    throw new Error(`priority: expected a non-empty array of numbers, got ${String(priority)}`);
  }
  priority.forEach((p, i) => {
    if (typeof p !== 'number' || Number.isNaN(p)) {
      throw new TypeError(`priority[${i}]: expected a number, got ${String(p)}`);
    }
  });
  const n = priority.length;
  checkInt(targetIndex, 'targetIndex', -1, n - 1);
  if (targetIndex === -1) return n;
  const t = priority[targetIndex];
  // Items inspected before the target: higher priority, or equal priority and a lower index.
  let before = 0;
  priority.forEach((p, i) => {
    if (p > t || (p === t && i < targetIndex)) before++;
  });
  return before + 1;
}

/** How a search goes through the items. */
export type SearchStrategy = 'parallel' | 'serial';

/**
 * Expected number of items inspected by an ideal searcher: `1` for parallel search (the target
 * is found in one step whatever N), `(N + 1) / 2` for serial self-terminating search with the
 * target present (it is equally likely to be 1st, 2nd, ..., Nth: `(1 + ... + N) / N`), and `N`
 * with the target absent (every item must be checked).
 */
export function expectedInspections(
  setSize: number,
  strategy: SearchStrategy,
  targetPresent = true,
): number {
  const n = checkInt(setSize, 'setSize', 1);
  if (strategy === 'parallel') return 1;
  if (strategy !== 'serial') {
    throw new Error(`strategy: expected 'parallel' or 'serial', got ${String(strategy)}`);
  }
  return targetPresent ? (n + 1) / 2 : n;
}

/** Options of `simulateSearch`. */
export interface SimulateSearchOptions {
  kind: SearchKind;
  /** Set sizes N to simulate, each in `[2, gridSize^2]`. */
  setSizes: number[];
  /** Displays per set size. */
  trials: number;
  /** Defaults to `true`. */
  targetPresent?: boolean;
  /**
   * Standard deviation of the Gaussian noise added to each item's saliency; it breaks ties and
   * stands for the variability of a real observer. Defaults to 0.1.
   */
  noise?: number;
  /** Grid side of the displays. Defaults to 6. */
  gridSize?: number;
  seed: number;
}

/** What `simulateSearch` returns: one entry per set size. */
export interface SearchCurve {
  kind: SearchKind;
  targetPresent: boolean;
  setSizes: number[];
  /** Mean number of items inspected per display. */
  meanInspected: number[];
  /** Standard error of each mean (sample standard deviation / sqrt(trials)). */
  standardError: number[];
  /** How often the target was inspected first (0 when absent). */
  foundFirst: number[];
}

/**
 * Simulates the priority-driven search on `trials` generated displays per set size: priority =
 * `itemSaliency(keys)` + N(0, noise^2) per item; the cost of a display is
 * `inspectionsUntilFound(priority, target)`. Deterministic for a given seed.
 */
export function simulateSearch(opts: SimulateSearchOptions): SearchCurve {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError('simulateSearch: expected options { kind, setSizes, trials, seed }');
  }
  const { kind, targetPresent = true, noise = 0.1, gridSize = 6 } = opts;
  if (!Array.isArray(opts.setSizes) || opts.setSizes.length === 0) {
    throw new Error(
      `setSizes: expected a non-empty array of integers, got ${String(opts.setSizes)}`,
    );
  }
  const trials = checkInt(opts.trials, 'trials', 1);
  if (typeof noise !== 'number' || !Number.isFinite(noise) || noise < 0) {
    throw new RangeError(`noise: expected a finite number >= 0, got ${String(noise)}`);
  }
  checkInt(opts.seed, 'seed', -(2 ** 31), 2 ** 32);
  const rng = createRng(opts.seed);
  const curve: SearchCurve = {
    kind,
    targetPresent,
    setSizes: [],
    meanInspected: [],
    standardError: [],
    foundFirst: [],
  };
  opts.setSizes.forEach((n, k) => {
    checkInt(n, `setSizes[${k}]`, 2);
    const displays = Array.from({ length: trials }, () =>
      searchDisplay({ kind, setSize: n, targetPresent, gridSize, seed: rng.int(0, 2 ** 31) }),
    );
    // One batched saliency computation for all displays of this set size.
    const saliency = tf.tidy(() => {
      const keys = tf.stack(displays.map((d) => sceneKeys(d))); // trials x [N, F] -> [trials, N, F]
      return itemSaliency(keys).arraySync() as number[][]; // [trials, N]
    });
    const costs = saliency.map((row, t) =>
      inspectionsUntilFound(
        row.map((s) => s + noise * rng.normal()),
        displays[t].targetIndex,
      ),
    );
    const mean = costs.reduce((a, c) => a + c, 0) / trials;
    const variance = trials > 1 ? costs.reduce((a, c) => a + (c - mean) ** 2, 0) / (trials - 1) : 0;
    curve.setSizes.push(n);
    curve.meanInspected.push(mean);
    curve.standardError.push(Math.sqrt(variance / trials));
    curve.foundFirst.push(targetPresent ? costs.filter((c) => c === 1).length / trials : 0);
  });
  return curve;
}

/**
 * Least-squares slope of `y` against `x`: extra items inspected per extra item in the display
 * (0 for a flat, parallel search; 0.5 for serial search with the target present; 1 absent).
 * `slope = sum (x - xbar)(y - ybar) / sum (x - xbar)^2`.
 */
export function searchSlope(x: readonly number[], y: readonly number[]): number {
  if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length || x.length < 2) {
    throw new Error(
      `searchSlope: expected x and y of equal length >= 2, got ${Array.isArray(x) ? x.length : String(x)} and ${Array.isArray(y) ? y.length : String(y)}`,
    );
  }
  const mx = x.reduce((a, v) => a + v, 0) / x.length;
  const my = y.reduce((a, v) => a + v, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  x.forEach((xi, i) => {
    sxy += (xi - mx) * (y[i] - my);
    sxx += (xi - mx) ** 2;
  });
  if (sxx === 0) throw new Error('searchSlope: expected at least two different x values');
  return sxy / sxx;
}
