/**
 * Learning-rate schedules: plain functions `step -> lr`, where `step` counts updates from 1 (the
 * first update uses `schedule(1)`). An optimizer given a schedule asks it for the rate of every
 * update; `scheduleChart` plots one.
 */
import { checkInt, checkPositive } from '../core/shapes';
import type { Figure } from '../viz/figure';
import { lineChart } from '../viz/figures';

/** A learning-rate schedule: the rate of update `step` (1, 2, 3, ...). */
export type Schedule = (step: number) => number;

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  return `${typeof x} ${String(x)}`;
}

function checkStep(step: unknown): number {
  return checkInt(step, 'step', 1);
}

function checkOptions(opts: unknown, fn: string, fields: string): Record<string, unknown> {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`${fn}: expected an options object { ${fields} }, got ${describe(opts)}`);
  }
  return opts as Record<string, unknown>;
}

/**
 * The same rate at every step.
 * @param lr learning rate, > 0
 */
export function constant(lr: number): Schedule {
  checkPositive(lr, 'lr');
  return (step) => {
    checkStep(step);
    return lr;
  };
}

/** Options of `warmupInverseSqrt`: give `dModel` (the paper's scale) or `peak`, not both. */
export interface WarmupInverseSqrtOptions {
  /** Number of warm-up steps `w` (the paper uses 4000), an integer >= 1. */
  warmup: number;
  /** Model width `d`: the rate is `d^-0.5 * min(s^-0.5, s * w^-1.5)`, as in the paper. */
  dModel?: number;
  /** The rate reached at step `w` instead: `peak * min(sqrt(w / s), s / w)`. */
  peak?: number;
}

/**
 * Linear warm-up then inverse-square-root decay, the Transformer paper's schedule
 * (Vaswani et al. 2017, eq. 3):
 *
 *   lr(s) = d^-0.5 * min(s^-0.5, s * w^-1.5)
 *
 * It rises linearly to `d^-0.5 * w^-0.5` at step `w`, then falls as `1 / sqrt(s)`. With `peak`,
 * the same shape scaled so that `lr(w) = peak`.
 */
export function warmupInverseSqrt(opts: WarmupInverseSqrtOptions): Schedule {
  const o = checkOptions(opts, 'warmupInverseSqrt', 'warmup, dModel | peak');
  const warmup = checkInt(o.warmup, 'warmup', 1);
  if ((o.dModel === undefined) === (o.peak === undefined)) {
    throw new Error(
      `warmupInverseSqrt: expected exactly one of dModel and peak, got ` +
        `dModel ${describe(o.dModel)} and peak ${describe(o.peak)}`,
    );
  }
  // The paper's peak, reached at s = w: d^-0.5 * w^-0.5.
  const peak =
    o.peak !== undefined
      ? checkPositive(o.peak, 'peak')
      : 1 / Math.sqrt(checkInt(o.dModel, 'dModel', 1) * warmup);
  return (step) => {
    const s = checkStep(step);
    return peak * Math.min(Math.sqrt(warmup / s), s / warmup);
  };
}

/** Options of `warmupCosine`. */
export interface WarmupCosineOptions {
  /** Number of warm-up steps, an integer >= 0 (0: start at the peak). */
  warmup: number;
  /** Step at which the decay ends, an integer > warmup; later steps stay at `min`. */
  total: number;
  /** Rate at the end of the warm-up, > 0. */
  peak: number;
  /** Rate at step `total` and after, in [0, peak]. Defaults to 0. */
  min?: number;
}

/**
 * Linear warm-up to `peak`, then half a cosine down to `min` at step `total`:
 *
 *   lr(s) = peak * s / w                                       for s <= w
 *   lr(s) = min + (peak - min) * (1 + cos(pi * (s - w) / (total - w))) / 2   for w < s <= total
 *   lr(s) = min                                                for s > total
 */
export function warmupCosine(opts: WarmupCosineOptions): Schedule {
  const o = checkOptions(opts, 'warmupCosine', 'warmup, total, peak, min?');
  const warmup = checkInt(o.warmup, 'warmup', 0);
  const total = checkInt(o.total, 'total', warmup + 1);
  const peak = checkPositive(o.peak, 'peak');
  const min = o.min === undefined ? 0 : o.min;
  if (typeof min !== 'number' || !Number.isFinite(min) || min < 0 || min > peak) {
    throw new RangeError(`min: expected a number in [0, ${peak}] (the peak), got ${describe(min)}`);
  }
  return (step) => {
    const s = checkStep(step);
    if (s <= warmup) return (peak * s) / warmup;
    const progress = Math.min(1, (s - warmup) / (total - warmup));
    return min + ((peak - min) * (1 + Math.cos(Math.PI * progress))) / 2;
  };
}

/** Options of `scheduleChart`. */
export interface ScheduleChartOptions {
  /** Figure title. Defaults to `'learning-rate schedule'`. */
  title?: string;
  /** Series name. Defaults to `'lr'`. */
  name?: string;
}

/**
 * A line chart of `schedule(1), ..., schedule(steps)` against the step, for a notebook to show
 * with `showFigure`.
 * @param schedule a function `step -> lr`
 * @param steps number of steps to plot, an integer >= 1
 */
export function scheduleChart(
  schedule: Schedule,
  steps: number,
  opts: ScheduleChartOptions = {},
): Figure {
  if (typeof schedule !== 'function') {
    throw new TypeError(`schedule: expected a function step -> lr, got ${describe(schedule)}`);
  }
  checkInt(steps, 'steps', 1);
  const x: number[] = [];
  const y: number[] = [];
  for (let s = 1; s <= steps; s++) {
    const lr = schedule(s);
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new RangeError(
        `schedule: expected a finite number >= 0 at step ${s}, got ${describe(lr)}`,
      );
    }
    x.push(s);
    y.push(lr);
  }
  return lineChart([{ name: opts.name ?? 'lr', x, y }], {
    title: opts.title ?? 'learning-rate schedule',
    xTitle: 'step',
    yTitle: 'learning rate',
  });
}
