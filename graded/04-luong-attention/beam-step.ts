/**
 * Graded tests of exercise 04.3 (one step of beam search). The expected beams of the small cases
 * are worked out by hand in the comments below (probabilities chosen so that no two candidates
 * tie); a larger random case is compared with the library's `beamStep`, which is itself tested
 * on hand-computed cases (`test/decode/beam.test.ts`) and is withheld from the answer.
 */
import { createRng } from '../../src/core/random';
import { beamStep as libraryBeamStep } from '../../src/decode/beam';
import { check, defineExercise } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/04-luong-attention/beam-step';

type Beam = { tokens: number[]; logProb: number };
type Candidate = Beam & { parent: number; score: number };
interface Case {
  beams: Beam[];
  probs: number[][];
  beamWidth: number;
  eos: number;
  alpha: number;
  /** Expected tokens and parents, in ranking order. */
  live: [number[], number][];
  finished: [number[], number][];
}

const L = Math.log;

/**
 * One start beam, eos = 1, k = 2, raw scores. Candidates: [1] 0.5 (eos, rank 0: retires),
 * [3] 0.25, [2] 0.15, [0] 0.1.
 */
const START: Case = {
  beams: [{ tokens: [], logProb: 0 }],
  probs: [[0.1, 0.5, 0.15, 0.25]],
  beamWidth: 2,
  eos: 1,
  alpha: 0,
  live: [
    [[3], 0],
    [[2], 0],
  ],
  finished: [[[1], 0]],
};

/**
 * Two beams, eos = 1, k = 2, raw scores. Candidates: [4,0] 0.5*0.6 = 0.3, [5,0] 0.3*0.9 = 0.27,
 * [4,1] 0.15 (eos at rank 2 = k: dropped, not retired), [4,2] 0.05, [5,1] 0.015, [5,2] 0.015.
 * The best extension of beam 1 beats beam 0's second best: the ranking is over all beams.
 */
const LATE_EOS: Case = {
  beams: [
    { tokens: [4], logProb: L(0.5) },
    { tokens: [5], logProb: L(0.3) },
  ],
  probs: [
    [0.6, 0.3, 0.1],
    [0.9, 0.05, 0.05],
  ],
  beamWidth: 2,
  eos: 1,
  alpha: 0,
  live: [
    [[4, 0], 0],
    [[5, 0], 1],
  ],
  finished: [],
};

/**
 * Beams of lengths 1 and 3, eos = 0, k = 2, alpha = 1 (lp(2) = 7/6, lp(4) = 9/6):
 * [1,2] 0.5*0.44 = 0.22 -> ln/lp = -1.298; [1,1] 0.18 -> -1.470; [1,0] 0.1 -> -1.974;
 * [1,2,1,0] 0.3*0.5 = 0.15 -> -1.265 (eos, rank 0: retires); [1,2,1,1] 0.12 -> -1.414;
 * [1,2,1,2] 0.03 -> -2.338. Ranking: [1,2,1,0], [1,2], [1,2,1,1]. With raw log-probabilities the
 * answer would differ: [1,2] 0.22, [1,1] 0.18, [1,2,1,0] 0.15 (rank 2, dropped).
 */
const NORMALISED: Case = {
  beams: [
    { tokens: [1], logProb: L(0.5) },
    { tokens: [1, 2, 1], logProb: L(0.3) },
  ],
  probs: [
    [0.2, 0.36, 0.44],
    [0.5, 0.4, 0.1],
  ],
  beamWidth: 2,
  eos: 0,
  alpha: 1,
  live: [
    [[1, 2], 0],
    [[1, 2, 1, 1], 1],
  ],
  finished: [[[1, 2, 1, 0], 1]],
};

const logProbsOf = (c: Case) => c.probs.map((row) => row.map((p) => L(p)));

const call = (c: Case) =>
  `beamStep(beams ${JSON.stringify(c.beams.map((b) => b.tokens))}, logProbs = log ${JSON.stringify(c.probs)}, ` +
  `beamWidth ${c.beamWidth}, eos ${c.eos}, alpha ${c.alpha})`;

const show = (xs: Candidate[]) => JSON.stringify(xs.map((x) => x.tokens));

function checkList(got: unknown, what: string, c: Case): Candidate[] {
  check(
    Array.isArray(got) &&
      got.every(
        (x) =>
          x !== null &&
          typeof x === 'object' &&
          Array.isArray((x as Candidate).tokens) &&
          typeof (x as Candidate).logProb === 'number' &&
          typeof (x as Candidate).parent === 'number' &&
          typeof (x as Candidate).score === 'number',
      ),
    `${call(c)}.${what}: expected an array of { tokens, logProb, parent, score }, got ${JSON.stringify(got)?.slice(0, 200)}`,
  );
  return got as Candidate[];
}

function runStep(answer: typeof Answers.beamStep, c: Case) {
  const got = answer(
    c.beams.map((b) => ({ tokens: [...b.tokens], logProb: b.logProb })),
    logProbsOf(c),
    c.beamWidth,
    c.eos,
    c.alpha,
  );
  check(
    got !== null && typeof got === 'object',
    `${call(c)}: expected { live, finished }, got ${String(got)}`,
  );
  return { live: checkList(got.live, 'live', c), finished: checkList(got.finished, 'finished', c) };
}

/** The expected candidate with its log-probability and score, computed from the case. */
function expected(c: Case, [tokens, parent]: [number[], number]): Candidate {
  const logProb = c.beams[parent].logProb + L(c.probs[parent][tokens[tokens.length - 1]]);
  return { tokens, parent, logProb, score: logProb / Math.pow((5 + tokens.length) / 6, c.alpha) };
}

/** Checks one list against the expected candidates, with a hint for known mistakes. */
function agrees(got: Candidate[], want: Candidate[], what: string, c: Case, hint: () => string) {
  const same = (a: Candidate, b: Candidate) =>
    JSON.stringify(a.tokens) === JSON.stringify(b.tokens) && a.parent === b.parent;
  check(
    got.length === want.length && got.every((g, i) => same(g, want[i])),
    `${call(c)}.${what}: expected ${show(want)} (parents ${JSON.stringify(want.map((w) => w.parent))}), got ${show(got)}. Hint: ${hint()}`,
  );
  got.forEach((g, i) => {
    check(
      Math.abs(g.logProb - want[i].logProb) < 1e-9,
      `${call(c)}.${what}[${i}].logProb: expected ${want[i].logProb}, got ${g.logProb}. Hint: ` +
        (Math.abs(g.logProb - (want[i].logProb - c.beams[g.parent].logProb)) < 1e-9
          ? "add the beam's own logProb: a candidate's log-probability is the sum over all its tokens"
          : 'logProb = beams[parent].logProb + logProbs[parent][token]'),
    );
    check(
      Math.abs(g.score - want[i].score) < 1e-9,
      `${call(c)}.${what}[${i}].score: expected ${want[i].score}, got ${g.score}. Hint: ` +
        (Math.abs(g.score - g.logProb) < 1e-9 && c.alpha !== 0
          ? 'no length normalisation: score = logProb / ((5 + n) / 6)^alpha with n the number of tokens'
          : 'score = logProb / ((5 + n) / 6)^alpha, n = tokens.length (the new token included)'),
    );
  });
}

function hintFor(got: { live: Candidate[]; finished: Candidate[] }, c: Case): string {
  const ends = (x: Candidate) => x.tokens[x.tokens.length - 1] === c.eos;
  if (got.live.some(ends)) {
    return `a candidate ending with eos (${c.eos}) is not a live beam: it retires into finished (if it ranks in the first beamWidth) or is dropped`;
  }
  if (c.alpha !== 0) {
    const raw = libraryBeamStep(c.beams, logProbsOf(c), { beamWidth: c.beamWidth, eos: c.eos });
    if (show(raw.live) === show(got.live) && show(raw.finished) === show(got.finished)) {
      return `no length normalisation: with alpha = ${c.alpha}, rank by logProb / ((5 + n) / 6)^alpha, not by logProb`;
    }
  }
  if (
    got.finished.length > 0 &&
    show(got.finished) !== show(c.finished.map((f) => expected(c, f)))
  ) {
    return 'only an eos candidate whose rank is below beamWidth retires; one ranked lower is dropped';
  }
  return 'rank the candidates of ALL beams together (not the best k of each beam), best score first';
}

export const beamStepSpec = defineExercise<typeof Answers>({
  chapter: '04-luong-attention',
  exercise: 'beam-step',
  // The library's beam search is withheld.
  reimplements: ['beamStep', 'beamSearch'],
  file: 'beam-step.ts',
  title: 'One step of beam search',
  tests: [
    {
      name: 'keeps the k best extensions over all beams, with their parents and log-probabilities',
      points: 2,
      run({ beamStep }) {
        for (const c of [START, LATE_EOS]) {
          const got = runStep(beamStep, c);
          agrees(
            got.live,
            c.live.map((x) => expected(c, x)),
            'live',
            c,
            () => hintFor(got, c),
          );
        }
      },
    },
    {
      name: 'retires an eos candidate ranked in the first k, and drops one ranked lower',
      points: 2,
      run({ beamStep }) {
        for (const c of [START, LATE_EOS]) {
          const got = runStep(beamStep, c);
          agrees(
            got.finished,
            c.finished.map((x) => expected(c, x)),
            'finished',
            c,
            () => hintFor(got, c),
          );
        }
      },
    },
    {
      name: 'ranks by length-normalised score (beams of different lengths, alpha = 1)',
      points: 2,
      run({ beamStep }) {
        const c = NORMALISED;
        const got = runStep(beamStep, c);
        agrees(
          got.finished,
          c.finished.map((x) => expected(c, x)),
          'finished',
          c,
          () => hintFor(got, c),
        );
        agrees(
          got.live,
          c.live.map((x) => expected(c, x)),
          'live',
          c,
          () => hintFor(got, c),
        );
      },
    },
    {
      name: 'agrees on a larger random step (4 beams, 7 tokens, alpha = 0.6)',
      points: 1,
      run({ beamStep }) {
        const rng = createRng(404);
        const beams = Array.from({ length: 4 }, (_, i) => ({
          tokens: Array.from({ length: 2 + (i % 2) }, () => rng.int(0, 7)),
          logProb: -rng.uniform() * 3,
        }));
        const probs = beams.map(() => {
          const e = Array.from({ length: 7 }, () => Math.exp(rng.normal()));
          const z = e.reduce((a, x) => a + x, 0);
          return e.map((x) => x / z);
        });
        const want = libraryBeamStep(
          beams,
          probs.map((r) => r.map((p) => L(p))),
          { beamWidth: 4, eos: 3, alpha: 0.6 },
        );
        const c: Case = { beams, probs, beamWidth: 4, eos: 3, alpha: 0.6, live: [], finished: [] };
        const got = runStep(beamStep, c);
        agrees(got.live, want.live, 'live', c, () => hintFor(got, c));
        agrees(got.finished, want.finished, 'finished', c, () => hintFor(got, c));
      },
    },
  ],
});
