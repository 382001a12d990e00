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
  type Candidate = { tokens: number[]; logProb: number; parent: number; score: number };
  // 1-2) expand every beam by every possible token, and score it
  const candidates: Candidate[] = [];
  for (let i = 0; i < beams.length; i++) {
    for (let v = 0; v < logProbs[i].length; v++) {
      if (logProbs[i][v] === -Infinity) continue;
      const tokens = beams[i].tokens.concat([v]);
      const logProb = beams[i].logProb + logProbs[i][v];
      const score = logProb / Math.pow((5 + tokens.length) / 6, alpha);
      candidates.push({ tokens, logProb, parent: i, score });
    }
  }
  // 3) one ranking over all beams (sort is stable: ties keep beam, then token order)
  candidates.sort((a, b) => b.score - a.score);
  // 4) retire the eos candidates of the first k ranks, keep k others alive
  const live: Candidate[] = [];
  const finished: Candidate[] = [];
  for (let rank = 0; rank < candidates.length && live.length < beamWidth; rank++) {
    const c = candidates[rank];
    if (c.tokens[c.tokens.length - 1] === eos) {
      if (rank < beamWidth) finished.push(c);
    } else {
      live.push(c);
    }
  }
  return { live, finished };
}
