/**
 * Posner's cueing paradigm (Posner, 1980, "Orienting of attention", Q. J. Exp. Psychol. 32:3-25)
 * with the attention model of chapter 00. An observer waits for a target at one of L locations.
 * Shortly before it (the SOA, stimulus onset asynchrony), a cue marks one location:
 *
 * - an **exogenous** cue is a flash at that location: it makes the location's *key* salient
 *   (bottom-up), whatever the observer wants; its pull is quick and fades;
 * - an **endogenous** cue is an arrow at fixation: the observer reads it and sets the *query* to
 *   prefer that location (top-down), as much as the cue deserves: with validity v (the share of
 *   trials on which the target appears where the cue points) the best prior log-odds of the cued
 *   location are `ln(v (L - 1) / (1 - v))`. Building the goal takes time.
 *
 * The score of location l is `q . k_l` with `k_l = [flash_l, onehot(l)]` and
 * `q = [exo(SOA), endo(SOA) onehot(cued)]`; attention weights are the softmax of the scores, and
 * the reaction time is `baseMs + shiftMs (1 - a_target) + noise`: the share of attention that is
 * not at the target has to be moved there. Valid trials (target at the cued location) are faster
 * than neutral ones (no cue): the benefit; invalid trials are slower: the cost. The time courses
 * and millisecond constants are illustrative, chosen to show the qualitative pattern (fast,
 * transient exogenous orienting; slower, sustained endogenous orienting), not fitted to data.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../core/random';
import { checkInt } from '../core/shapes';

/** Where the cue comes from: a peripheral flash (`'exogenous'`) or a central arrow (`'endogenous'`). */
export type CueKind = 'exogenous' | 'endogenous';
/** How the cue relates to the target: at its location, elsewhere, or no cue at all. */
export type CueCondition = 'valid' | 'invalid' | 'neutral';

export const CUE_KINDS: readonly CueKind[] = ['exogenous', 'endogenous'];
export const CUE_CONDITIONS: readonly CueCondition[] = ['valid', 'neutral', 'invalid'];

/** Parameters of the cueing model; every field has a default. */
export interface CueingOptions {
  /** Number of locations L >= 2. Defaults to 2 (left and right, as in Posner's displays). */
  locations?: number;
  /** Share of cued trials with the target at the cued location, in (1/L, 1). Defaults to 0.8. */
  validity?: number;
  /** Largest query weight of the flash (exogenous gain). Defaults to 2. */
  exogenousGain?: number;
  /** Rise and decay time constants of the exogenous pull, ms. Defaults to 50 and 300. */
  exogenousRiseMs?: number;
  exogenousDecayMs?: number;
  /** Rise time constant of the endogenous goal, ms. Defaults to 150. */
  endogenousRiseMs?: number;
  /** Reaction time with all attention already at the target, ms. Defaults to 250. */
  baseMs?: number;
  /** Extra time to move all of attention to the target, ms. Defaults to 200. */
  shiftMs?: number;
}

function checkNumber(
  value: unknown,
  name: string,
  lo: number,
  hi = Infinity,
  open = false,
): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (open ? value > lo && value < hi : value >= lo && value <= hi);
  if (!ok) {
    const range = open ? `in (${lo}, ${hi})` : hi === Infinity ? `>= ${lo}` : `in [${lo}, ${hi}]`;
    throw new RangeError(`${name}: expected a finite number ${range}, got ${String(value)}`);
  }
  return value as number;
}

function resolveOptions(opts: CueingOptions): Required<CueingOptions> {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`options: expected an object, got ${String(opts)}`);
  }
  const locations = checkInt(opts.locations ?? 2, 'locations', 2);
  return {
    locations,
    validity: checkNumber(opts.validity ?? 0.8, 'validity', 1 / locations, 1, true),
    exogenousGain: checkNumber(opts.exogenousGain ?? 2, 'exogenousGain', 0),
    exogenousRiseMs: checkNumber(opts.exogenousRiseMs ?? 50, 'exogenousRiseMs', 0, Infinity, true),
    exogenousDecayMs: checkNumber(
      opts.exogenousDecayMs ?? 300,
      'exogenousDecayMs',
      0,
      Infinity,
      true,
    ),
    endogenousRiseMs: checkNumber(
      opts.endogenousRiseMs ?? 150,
      'endogenousRiseMs',
      0,
      Infinity,
      true,
    ),
    baseMs: checkNumber(opts.baseMs ?? 250, 'baseMs', 0),
    shiftMs: checkNumber(opts.shiftMs ?? 200, 'shiftMs', 0),
  };
}

function checkKind(kind: unknown): CueKind {
  if (!CUE_KINDS.includes(kind as CueKind)) {
    throw new RangeError(`kind: expected 'exogenous' or 'endogenous', got ${String(kind)}`);
  }
  return kind as CueKind;
}

/**
 * How strongly a cue pulls attention to its location `soaMs` after it appeared: the query weight
 * of the flash feature (exogenous: `gain (1 - e^(-t/rise)) e^(-t/decay)`, automatic and
 * transient) or of the cued location (endogenous: `ln(v (L - 1) / (1 - v)) (1 - e^(-t/rise))`,
 * as strong as the cue is informative, built up and then held).
 * @param kind 'exogenous' or 'endogenous'
 * @param soaMs time from cue to target, ms (>= 0)
 */
export function cueStrength(kind: CueKind, soaMs: number, opts: CueingOptions = {}): number {
  checkKind(kind);
  checkNumber(soaMs, 'soaMs', 0);
  const o = resolveOptions(opts);
  if (kind === 'exogenous') {
    return (
      o.exogenousGain *
      (1 - Math.exp(-soaMs / o.exogenousRiseMs)) *
      Math.exp(-soaMs / o.exogenousDecayMs)
    );
  }
  const logOdds = Math.log((o.validity * (o.locations - 1)) / (1 - o.validity));
  return logOdds * (1 - Math.exp(-soaMs / o.endogenousRiseMs));
}

/**
 * Attention weights over the L locations for one trial, as scores `K q` and a softmax: keys
 * `k_l = [flash_l, onehot(l)]` (the flash is 1 at the cued location of an exogenous cue) and
 * query `q = [exo, endo onehot(cued)]`.
 * @param kind the cue
 * @param condition 'valid' | 'invalid' | 'neutral' (no cue)
 * @param soaMs time from cue to target, ms
 * @returns the weight on the target's location, the weights `[L]` (target at 0; an invalid cue
 *   points at location 1), and the scores `[L]`
 */
export function cueWeights(
  kind: CueKind,
  condition: CueCondition,
  soaMs: number,
  opts: CueingOptions = {},
): { target: number; weights: number[]; scores: number[] } {
  checkKind(kind);
  if (!CUE_CONDITIONS.includes(condition)) {
    throw new RangeError(
      `condition: expected 'valid', 'invalid' or 'neutral', got ${String(condition)}`,
    );
  }
  const o = resolveOptions(opts);
  const strength = cueStrength(kind, soaMs, o);
  const L = o.locations;
  const cued = condition === 'valid' ? 0 : condition === 'invalid' ? 1 : -1;
  const { scores, weights } = tf.tidy(() => {
    const flash = Array.from({ length: L }, (_, l) => (kind === 'exogenous' && l === cued ? 1 : 0));
    const keys = tf.tensor2d(
      Array.from({ length: L }, (_, l) => [
        flash[l],
        ...Array.from({ length: L }, (_, j) => (j === l ? 1 : 0)),
      ]),
    ); // [L, 1 + L]
    const query = tf.tensor2d([
      [kind === 'exogenous' && cued >= 0 ? strength : 0],
      ...Array.from({ length: L }, (_, j) => [kind === 'endogenous' && j === cued ? strength : 0]),
    ]); // [1 + L, 1]
    const s = tf.matMul(keys, query).reshape([L]); // [L, 1 + L] x [1 + L, 1] -> [L]
    return { scores: Array.from(s.dataSync()), weights: Array.from(tf.softmax(s).dataSync()) };
  });
  return { target: weights[0], weights, scores };
}

/** Mean reaction times of one cue at one SOA, from `simulateCueing`. */
export interface CueingPoint {
  soaMs: number;
  /** Mean reaction time per condition, ms. */
  validMs: number;
  neutralMs: number;
  invalidMs: number;
  /** `neutralMs - validMs`: how much a valid cue speeds the response. */
  benefitMs: number;
  /** `invalidMs - neutralMs`: how much an invalid cue slows it. */
  costMs: number;
}

/** Options of `simulateCueing`. */
export interface SimulateCueingOptions extends CueingOptions {
  kind: CueKind;
  /** Cue-target intervals to simulate, ms. */
  soaMs: number[];
  /** Trials per condition and SOA (>= 1). */
  trials: number;
  /** Standard deviation of the reaction-time noise, ms. Defaults to 30. */
  noiseMs?: number;
  seed: number;
}

/**
 * Simulates a cueing experiment: for each SOA, `trials` valid, neutral and invalid trials with
 * reaction time `baseMs + shiftMs (1 - a_target) + N(0, noiseMs^2)`, `a_target` from
 * `cueWeights`. Deterministic for a given seed. The benefit and cost are differences of the means.
 */
export function simulateCueing(opts: SimulateCueingOptions): CueingPoint[] {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError('simulateCueing: expected options { kind, soaMs, trials, seed }');
  }
  const kind = checkKind(opts.kind);
  if (!Array.isArray(opts.soaMs) || opts.soaMs.length === 0) {
    throw new Error(`soaMs: expected a non-empty array of numbers, got ${String(opts.soaMs)}`);
  }
  opts.soaMs.forEach((t, i) => checkNumber(t, `soaMs[${i}]`, 0));
  const trials = checkInt(opts.trials, 'trials', 1);
  const noiseMs = checkNumber(opts.noiseMs ?? 30, 'noiseMs', 0);
  checkInt(opts.seed, 'seed', -(2 ** 31), 2 ** 32);
  const o = resolveOptions(opts);
  const rng = createRng(opts.seed);
  const meanRt = (weight: number): number => {
    let sum = 0;
    for (let t = 0; t < trials; t++)
      sum += o.baseMs + o.shiftMs * (1 - weight) + noiseMs * rng.normal();
    return sum / trials;
  };
  return opts.soaMs.map((soaMs) => {
    const [validMs, neutralMs, invalidMs] = CUE_CONDITIONS.map((c) =>
      meanRt(cueWeights(kind, c, soaMs, o).target),
    );
    return {
      soaMs,
      validMs,
      neutralMs,
      invalidMs,
      benefitMs: neutralMs - validMs,
      costMs: invalidMs - neutralMs,
    };
  });
}
