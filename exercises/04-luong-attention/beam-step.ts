/**
 * Exercise 04.3: one step of beam search (chapter 04, "Luong attention").
 *
 * Beam search keeps the `k` best partial sequences ("beams") instead of greedy decoding's one.
 * One step, for one source, on plain arrays:
 *
 * 1. expand: every beam i extended by every token v is a candidate with
 *    tokens = [...beams[i].tokens, v], logProb = beams[i].logProb + logProbs[i][v], parent = i;
 * 2. score each candidate by its length-normalised log-probability (GNMT's length penalty):
 *      score = logProb / ((5 + n) / 6)^alpha,   n = the candidate's number of tokens
 *    (alpha = 0 compares raw log-probabilities; beams may have different lengths);
 * 3. rank ALL candidates of all beams together by score, best first (on equal scores, the lower
 *    beam index first, then the lower token id: a stable sort of candidates made in that order);
 * 4. walk down the ranking: a candidate that ends with `eos` RETIRES into `finished` if its rank
 *    (0-based) is below `beamWidth`, and is dropped otherwise; any other candidate becomes a
 *    live beam, until there are `beamWidth` live beams.
 *
 * Return `live` and `finished` in ranking order, each candidate as
 * `{ tokens, logProb, parent, score }`. A token with log-probability `-Infinity` (probability 0)
 * is not a candidate. No tensors here: arrays and numbers only.
 *
 * @param beams the live beams: `{ tokens, logProb }` (1 to `beamWidth` of them)
 * @param logProbs `logProbs[i][v]`: log p(v | beams[i]), one row of `V` numbers per beam
 * @param beamWidth `k >= 1`
 * @param eos the end-of-sequence token
 * @param alpha the length penalty's exponent, `>= 0`
 * @returns `{ live, finished }`
 */
import { notImplemented } from '../../src/course/exercise';

export function beamStep(
  beams: { tokens: number[]; logProb: number }[],
  logProbs: number[][],
  beamWidth: number,
  eos: number,
  alpha: number,
): {
  live: { tokens: number[]; logProb: number; parent: number; score: number }[];
  finished: { tokens: number[]; logProb: number; parent: number; score: number }[];
} {
  void [beams, logProbs, beamWidth, eos, alpha];
  return notImplemented('beamStep', 'exercises/04-luong-attention/beam-step.ts');
}
