/**
 * Beam search on any `StepDecoder` (RNN or Transformer): instead of committing to the most likely
 * token at each step (greedy decoding), keep the `k` best partial sequences ("beams"), extend each
 * by every token, and keep the `k` best extensions. A sequence that produces the end-of-sequence
 * token retires ("finished"); a source is done once `k` of its hypotheses have finished, or after
 * `maxLen` steps.
 *
 * Hypotheses are compared by their length-normalised score (Wu et al., 2016, GNMT, eq. 14):
 *
 * ```text
 * score(y) = log p(y | x) / lp(|y|),    lp(n) = ((5 + n) / 6)^alpha
 * ```
 *
 * with `|y|` the number of generated tokens, the eos included. `alpha = 0` compares raw
 * log-probabilities, which favour short sequences (every token multiplies in a probability below
 * 1); `alpha = 1` is close to dividing by the length; GNMT used `alpha` in `[0.6, 0.7]`.
 *
 * The selection rule of one step (`beamStep`, also the chapter's exercise): rank every extension
 * of every live beam by its score; walking down the ranking, an extension ending in the eos
 * retires if it ranks among the first `k` (finished), any other becomes a live beam until there
 * are `k` of them. So with `k = 1` this is exactly greedy decoding (tested).
 */
import * as tf from '@tensorflow/tfjs';
import { checkValidLens } from '../attention/masks';
import { checkInt, checkShape } from '../core/shapes';
import {
  checkStepDecoder,
  decodeStep,
  disposeState,
  gatherState,
  startDecoding,
  type DecoderStep,
  type StepDecoder,
} from './step-decoder';

/** GNMT's length penalty `lp(n) = ((5 + n) / 6)^alpha` (1 for `alpha = 0`). */
export function lengthPenalty(length: number, alpha: number): number {
  checkInt(length, 'length', 0);
  checkAlpha(alpha);
  return Math.pow((5 + length) / 6, alpha);
}

/** A hypothesis' score, `logProb / lengthPenalty(length, alpha)`. */
export function beamScore(logProb: number, length: number, alpha: number): number {
  if (typeof logProb !== 'number' || Number.isNaN(logProb) || logProb > 0) {
    throw new RangeError(`logProb: expected a log-probability (a number <= 0), got ${logProb}`);
  }
  return logProb / lengthPenalty(length, alpha);
}

function checkAlpha(alpha: unknown): number {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0) {
    throw new RangeError(`alpha: expected a finite number >= 0, got ${String(alpha)}`);
  }
  return alpha;
}

/** A partial sequence: its tokens so far (without the bos) and their summed log-probability. */
export interface Beam {
  tokens: number[];
  logProb: number;
}

/** A beam or a finished hypothesis made by `beamStep`: which input beam it extends, and its score. */
export interface BeamCandidate extends Beam {
  /** Index of the beam it extends, in the `beams` given to `beamStep`. */
  parent: number;
  /** `beamScore(logProb, tokens.length, alpha)`. */
  score: number;
}

/**
 * One step of beam search for one source, on plain arrays (see the module comment): extends
 * every beam by every token, ranks the extensions by length-normalised score (ties: lower beam
 * index, then lower token id, as `argMax` would), retires those that end in the eos and rank in
 * the first `beamWidth`, and keeps the best `beamWidth` others as the new beams.
 * @param beams the live beams (1 to `beamWidth` of them)
 * @param logProbs `[beams.length][V]`: `logProbs[i][v] = log p(v | beams[i])`
 * @param options `beamWidth` `k >= 1`, the `eos` token, and `alpha` (`lengthPenalty`, default 0)
 * @returns `live`, at most `k` new beams, best first, and `finished`, the hypotheses retired at
 *   this step, best first
 */
export function beamStep(
  beams: readonly Beam[],
  logProbs: readonly (readonly number[])[],
  options: { beamWidth: number; eos: number; alpha?: number },
): { live: BeamCandidate[]; finished: BeamCandidate[] } {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`options: expected { beamWidth, eos, alpha? }, got ${String(options)}`);
  }
  const k = checkInt(options.beamWidth, 'beamWidth');
  const eos = checkInt(options.eos, 'eos', 0);
  const alpha = checkAlpha(options.alpha ?? 0);
  if (!Array.isArray(beams) || beams.length === 0 || beams.length > k) {
    throw new RangeError(
      `beams: expected 1 to beamWidth = ${k} beams, got ${Array.isArray(beams) ? beams.length : typeof beams}`,
    );
  }
  if (!Array.isArray(logProbs) || logProbs.length !== beams.length) {
    throw new RangeError(
      `logProbs: expected one row per beam (${beams.length}), got ${Array.isArray(logProbs) ? logProbs.length : typeof logProbs}`,
    );
  }
  const vocab = logProbs[0]?.length;
  logProbs.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== vocab || vocab === 0) {
      throw new RangeError(`logProbs[${i}]: expected ${vocab} numbers (V), got ${String(row)}`);
    }
  });
  const candidates: BeamCandidate[] = [];
  beams.forEach((beam, parent) => {
    logProbs[parent].forEach((lp: number, token: number) => {
      if (lp === -Infinity) return; // a token the decoder rules out
      const tokens = [...beam.tokens, token];
      const logProb = beam.logProb + lp;
      candidates.push({ tokens, logProb, parent, score: beamScore(logProb, tokens.length, alpha) });
    });
  });
  // Array.prototype.sort is stable: equal scores keep (parent, token) order.
  candidates.sort((a, b) => b.score - a.score);
  const live: BeamCandidate[] = [];
  const finished: BeamCandidate[] = [];
  for (let rank = 0; rank < candidates.length && live.length < k; rank++) {
    const c = candidates[rank];
    if (c.tokens[c.tokens.length - 1] === eos) {
      if (rank < k) finished.push(c);
    } else live.push(c);
  }
  return { live, finished };
}

/** Options of `beamSearch`. */
export interface BeamSearchOptions {
  /** Beams kept per source, `k >= 1` (1 is greedy decoding). */
  beamWidth: number;
  /** Most tokens generated per hypothesis, the eos included. */
  maxLen: number;
  /** GNMT's `alpha >= 0` (see `lengthPenalty`). Defaults to `0`: raw log-probabilities. */
  lengthPenalty?: number;
  /** Token fed at the first step. Defaults to the decoder's `bos`. */
  bos?: number;
  /** Token that ends a hypothesis. Defaults to the decoder's `eos`. */
  eos?: number;
  /** `[B]` int32 source lengths (positions at or past them are padding). */
  srcValidLens?: tf.Tensor1D;
}

/** One hypothesis of `beamSearch`'s n-best list. */
export interface BeamHypothesis {
  /** The generated tokens, without the bos, ending with the eos when `finished`. */
  tokens: number[];
  /** `sum log p(token)` over `tokens`. */
  logProb: number;
  /** `logProb / lengthPenalty(tokens.length, alpha)`: what the n-best list is sorted by. */
  score: number;
  /** `true` when it produced the eos within `maxLen` tokens. */
  finished: boolean;
  /** The attention weights of each step, `[T_b, S]`, or `null` if the decoder gives none. */
  weights: number[][] | null;
}

/** What `beamSearch` returns: the best hypothesis of each source, and each source's n-best list. */
export interface BeamSearchResult {
  /** The best hypothesis' tokens per source (see `BeamHypothesis.tokens`). */
  tokens: number[][];
  /** The best hypothesis' log-probability per source. */
  logProb: number[];
  /** The best hypothesis' score per source. */
  score: number[];
  /** Whether the best hypothesis of each source finished. */
  finished: boolean[];
  /**
   * Per source, up to `beamWidth` hypotheses best first: the finished ones by score, then (only
   * if fewer than `beamWidth` finished within `maxLen`) the live beams left at `maxLen`, by score.
   */
  nBest: BeamHypothesis[][];
}

interface Track extends Beam {
  weights: number[][];
}

function resolveToken(value: number | undefined, fallback: number | undefined, name: string) {
  const token = value ?? fallback;
  if (token === undefined) {
    throw new Error(`${name}: expected a token id in the options or on the decoder, got neither`);
  }
  return checkInt(token, name, 0);
}

/**
 * Beam search over a batch of sources (see the module comment). The decoder runs on `B * k` rows
 * (source `b`'s beams are rows `b k .. b k + k - 1`); after each step `gatherState` reorders the
 * state so that each surviving beam continues from its parent's row. Leaves no tensors behind,
 * also when the decoder throws.
 *
 * ```ts
 * const out = ah.beamSearch(model, src, { beamWidth: 5, maxLen: 11, srcValidLens: srcLens,
 *   lengthPenalty: 0.6 });
 * out.tokens[0]; // the best sequence of source 0; out.nBest[0] lists up to 5
 * ```
 * @param decoder any `StepDecoder` (its `bos`/`eos` are used unless given in `options`)
 * @param src `[B, S]` int32 source token ids
 */
export function beamSearch<State>(
  decoder: StepDecoder<State>,
  src: tf.Tensor2D,
  options: BeamSearchOptions,
): BeamSearchResult {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      `options: expected { beamWidth, maxLen, lengthPenalty?, bos?, eos?, srcValidLens? }, got ${String(options)}`,
    );
  }
  checkStepDecoder(decoder);
  const k = checkInt(options.beamWidth, 'beamWidth');
  const maxLen = checkInt(options.maxLen, 'maxLen');
  const alpha = checkAlpha(options.lengthPenalty ?? 0);
  const bos = resolveToken(options.bos, decoder.bos, 'bos');
  const eos = resolveToken(options.eos, decoder.eos, 'eos');
  checkShape(src, ['B', 'S'], 'src');
  const [batch, srcLen] = src.shape;
  if (options.srcValidLens !== undefined) {
    checkShape(options.srcValidLens, [batch], 'srcValidLens');
    checkValidLens(options.srcValidLens, batch, 1, srcLen, 'srcValidLens');
  }

  const live: Track[][] = Array.from({ length: batch }, () => [
    { tokens: [], logProb: 0, weights: [] },
  ]);
  const done: (BeamHypothesis & { order: number })[][] = Array.from({ length: batch }, () => []);
  const isDone = (b: number) => done[b].length >= k || live[b].length === 0;
  let hasWeights: boolean | undefined;
  let order = 0;

  let state: State | undefined;
  let prev: tf.Tensor1D | undefined;
  try {
    const start = startDecoding(decoder, src, options.srcValidLens);
    const repeat = tf.tensor1d(
      Array.from({ length: batch * k }, (_, i) => Math.floor(i / k)),
      'int32',
    ); // [B*k]: row b k + j starts from source b
    try {
      state = gatherState(start, repeat);
    } finally {
      disposeState(start);
      repeat.dispose();
    }
    prev = tf.fill([batch * k], bos, 'int32') as tf.Tensor1D;
    for (let t = 0; t < maxLen; t++) {
      if (live.every((_, b) => isDone(b))) break;
      const out: DecoderStep<State> = decodeStep(decoder, prev, state as State);
      disposeState(state);
      state = undefined;
      const rows: number[] = [];
      const nextTokens: number[] = [];
      try {
        if (hasWeights === undefined) hasWeights = out.weights !== undefined;
        if (hasWeights !== (out.weights !== undefined)) {
          throw new Error(`decoder.step: gave attention weights at some steps only (step ${t})`);
        }
        const logp = tf.tidy(() => tf.logSoftmax(out.logits));
        const table = logp.arraySync() as number[][]; // [B*k, V]
        logp.dispose();
        const weightRows = out.weights?.arraySync() as number[][] | undefined; // [B*k, S]
        for (let b = 0; b < batch; b++) {
          const beams = live[b];
          if (isDone(b)) {
            for (let j = 0; j < k; j++) {
              rows.push(b * k);
              nextTokens.push(bos);
            }
            continue;
          }
          const step = beamStep(
            beams,
            beams.map((_, j) => table[b * k + j]),
            { beamWidth: k, eos, alpha },
          );
          const extend = (c: BeamCandidate): Track => ({
            tokens: c.tokens,
            logProb: c.logProb,
            weights: weightRows ? [...beams[c.parent].weights, weightRows[b * k + c.parent]] : [],
          });
          for (const c of step.finished) {
            const track = extend(c);
            done[b].push({
              tokens: track.tokens,
              logProb: track.logProb,
              score: c.score,
              finished: true,
              weights: weightRows ? track.weights : null,
              order: order++,
            });
          }
          live[b] = step.live.map(extend);
          for (let j = 0; j < k; j++) {
            const c = step.live[j];
            rows.push(b * k + (c ? c.parent : 0));
            nextTokens.push(c ? c.tokens[c.tokens.length - 1] : bos);
          }
        }
        const gather = tf.tensor1d(rows, 'int32');
        try {
          state = gatherState(out.state, gather);
        } finally {
          gather.dispose();
        }
        prev.dispose();
        prev = tf.tensor1d(nextTokens, 'int32');
      } finally {
        disposeState(out.state);
        tf.dispose([out.logits, ...(out.weights ? [out.weights] : [])]);
      }
    }
  } finally {
    if (state !== undefined) disposeState(state);
    prev?.dispose();
  }

  const nBest = done.map((finished, b) => {
    const sorted = [...finished].sort((x, y) => y.score - x.score || x.order - y.order);
    const hyps: BeamHypothesis[] = sorted.map(({ order: _order, ...h }) => {
      void _order;
      return h;
    });
    if (hyps.length < k) {
      const open = live[b]
        .map((beam) => ({
          tokens: beam.tokens,
          logProb: beam.logProb,
          score: beamScore(beam.logProb, beam.tokens.length, alpha),
          finished: false,
          weights: hasWeights ? beam.weights : null,
        }))
        .sort((x, y) => y.score - x.score);
      hyps.push(...open.slice(0, k - hyps.length));
    }
    return hyps.slice(0, k);
  });
  return {
    tokens: nBest.map((h) => h[0].tokens),
    logProb: nBest.map((h) => h[0].logProb),
    score: nBest.map((h) => h[0].score),
    finished: nBest.map((h) => h[0].finished),
    nBest,
  };
}
