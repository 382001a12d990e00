/**
 * Graded tests of exercise 04.2 (the local-p window). The reference is written here with plain
 * loops in float64 from the float32 inputs (equations 9 and 10 of Luong et al., 2015), on seeded
 * batches whose sources have different valid lengths; the known mistakes are the same loops with
 * one thing changed.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../src/core/random';
import { describeMismatch } from '../../src/core/compare';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/04-luong-attention/local-p';

interface Case {
  h: tf.Tensor2D;
  scores: tf.Tensor2D;
  srcValidLens: tf.Tensor1D;
  lens: number[];
  wP: tf.Tensor2D;
  vP: tf.Tensor1D;
  window: number;
}

function makeCase(seed: number, lens: number[], s: number, window: number): Case {
  const rng = createRng(seed);
  const rand = (shape: number[], scale: number) =>
    tf.tensor(
      Array.from({ length: shape.reduce((a, x) => a * x, 1) }, () => rng.normal() * scale),
      shape,
      'float32',
    );
  const b = lens.length;
  return {
    h: rand([b, 4], 1) as tf.Tensor2D,
    scores: rand([b, s], 2) as tf.Tensor2D,
    srcValidLens: tf.tensor1d(lens, 'int32'),
    lens,
    wP: rand([4, 3], 1) as tf.Tensor2D,
    vP: rand([3], 1.5) as tf.Tensor1D,
    window,
  };
}

const CASES = (): Case[] => [makeCase(51, [9, 5, 2], 9, 2), makeCase(52, [7, 1, 4], 7, 1)];

/** One change from the reference: a known mistake. */
interface Variant {
  /** What p_t scales the sigmoid by: the valid length (right), the padded length, or L - 1. */
  scale?: 'L' | 'S' | 'L-1';
  /** sigma = D (instead of D / 2). */
  sigmaD?: boolean;
  /** The window is not cut at the valid length (padding inside it gets weight). */
  noTruncate?: boolean;
  /** No window: the softmax runs over every valid position. */
  noWindow?: boolean;
  /** The Gaussian is left out. */
  noGaussian?: boolean;
  /** The rows are renormalised after the Gaussian. */
  renormalise?: boolean;
}

function reference(c: Case, v: Variant = {}): { positions: number[]; weights: number[][] } {
  const h = c.h.arraySync();
  const wP = c.wP.arraySync();
  const vP = c.vP.arraySync();
  const scores = c.scores.arraySync();
  const srcLen = scores[0].length;
  const d = c.window;
  const sigma = v.sigmaD ? d : d / 2;
  const positions: number[] = [];
  const weights: number[][] = [];
  h.forEach((row, b) => {
    const hidden = vP.map((_, a) => Math.tanh(row.reduce((acc, x, i) => acc + x * wP[i][a], 0)));
    const logit = hidden.reduce((acc, x, a) => acc + x * vP[a], 0);
    const len = c.lens[b];
    const scale = v.scale === 'S' ? srcLen : v.scale === 'L-1' ? len - 1 : len;
    const p = scale / (1 + Math.exp(-logit));
    positions.push(p);
    const limit = v.noTruncate ? srcLen : len;
    const inside = scores[b].map((_, s) => (v.noWindow || Math.abs(s - p) <= d) && s < limit);
    const top = Math.max(...scores[b].filter((_, s) => inside[s]));
    const e = scores[b].map((x, s) => (inside[s] ? Math.exp(x - top) : 0));
    const z = e.reduce((a, x) => a + x, 0);
    let w = e.map(
      (x, s) => (x / z) * (v.noGaussian ? 1 : Math.exp(-((s - p) ** 2) / (2 * sigma ** 2))),
    );
    if (v.renormalise) {
      const total = w.reduce((a, x) => a + x, 0);
      w = w.map((x) => x / total);
    }
    weights.push(w);
  });
  return { positions, weights };
}

const call = (c: Case) =>
  `localPWeights(${arg('h', c.h)}, ${arg('scores', c.scores)}, srcValidLens ${JSON.stringify(c.lens)}, ` +
  `${arg('wP', c.wP)}, ${arg('vP', c.vP)}, window ${c.window})`;

type Result = ReturnType<typeof Answers.localPWeights>;

function run(answer: typeof Answers.localPWeights, c: Case): Result {
  const got = answer(c.h, c.scores, c.srcValidLens, c.wP, c.vP, c.window);
  check(
    got !== null && typeof got === 'object',
    `${call(c)}: expected an object { positions, weights }, got ${String(got)}`,
  );
  return got;
}

const matches = (got: unknown, want: number[] | number[][]) =>
  got instanceof tf.Tensor && describeMismatch(got, want, { atol: 1e-4 }) === null;

function scaleHint(scale: 'S' | 'L-1', c: Case): string {
  return scale === 'S'
    ? `p_t is scaled by the padded length S = ${c.scores.shape[1]}: scale by each source's valid length L = srcValidLens[b] (${JSON.stringify(c.lens)})`
    : 'p_t is scaled by L - 1: the paper (eq. 9) scales the sigmoid by the length L itself';
}

function positionsHint(got: unknown, c: Case): string {
  for (const scale of ['S', 'L-1'] as const) {
    if (matches(got, reference(c, { scale }).positions)) return scaleHint(scale, c);
  }
  return 'p_t = L * sigmoid(vP . tanh(h wP)) with L = srcValidLens[b]';
}

const MISTAKES: [Variant, string][] = [
  [{ sigmaD: true }, 'the Gaussian is too wide: sigma = D / 2, not D'],
  [
    { noTruncate: true },
    'the window is not truncated at the valid length: positions s >= srcValidLens[b] must get exactly 0',
  ],
  [
    { noWindow: true },
    'no window: the softmax must run over the positions with |s - p_t| <= D only, every other position gets exactly 0',
  ],
  [{ noGaussian: true }, 'the Gaussian exp(-(s - p_t)^2 / (2 sigma^2)) is missing (eq. 10)'],
  [
    { renormalise: true },
    'the rows are renormalised after the Gaussian: the paper keeps align * Gaussian as it is',
  ],
];

function weightsHint(got: unknown, c: Case): string {
  for (const [variant, hint] of MISTAKES)
    if (matches(got, reference(c, variant).weights)) return hint;
  for (const scale of ['S', 'L-1'] as const) {
    if (matches(got, reference(c, { scale }).weights)) return scaleHint(scale, c);
  }
  return 'a = softmax of the scores inside the window, times exp(-(s - p_t)^2 / (2 (D/2)^2))';
}

export const localPSpec = defineExercise<typeof Answers>({
  chapter: '04-luong-attention',
  exercise: 'local-p',
  // The library's local attention and Luong's models are withheld.
  reimplements: ['LocalPAttention', 'localWindowMask', 'LuongSeq2Seq'],
  file: 'local-p.ts',
  title: 'The local-p window',
  tests: [
    {
      name: 'predicted centres p_t = L sigmoid(v_p . tanh(h W_p)) with L the valid length',
      points: 2,
      run({ localPWeights }) {
        for (const c of CASES()) {
          const got = run(localPWeights, c).positions;
          expectClose(got, reference(c).positions, {
            call: `${call(c)}.positions`,
            atol: 1e-5,
            rtol: 1e-4,
            hint: positionsHint(got, c),
          });
        }
      },
    },
    {
      name: 'weights: softmax inside the window times a Gaussian of sigma = D / 2',
      points: 3,
      run({ localPWeights }) {
        for (const c of CASES()) {
          const got = run(localPWeights, c).weights;
          expectClose(got, reference(c).weights, {
            call: `${call(c)}.weights`,
            atol: 1e-5,
            rtol: 1e-4,
            hint: weightsHint(got, c),
          });
        }
      },
    },
    {
      name: 'exactly 0 outside [p_t - D, p_t + D] and at padding',
      points: 1,
      run({ localPWeights }) {
        const c = CASES()[0];
        const out = run(localPWeights, c);
        check(
          out.weights instanceof tf.Tensor && out.weights.shape.join() === c.scores.shape.join(),
          `${call(c)}.weights: expected a tensor of shape [B, S] = [${c.scores.shape.join(', ')}]`,
        );
        const { positions } = reference(c);
        (out.weights.arraySync() as number[][]).forEach((row, b) => {
          row.forEach((w, s) => {
            const outside = Math.abs(s - positions[b]) > c.window || s >= c.lens[b];
            check(
              !outside || w === 0,
              `${call(c)}.weights: row ${b} (p_t = ${positions[b].toFixed(3)}, L = ${c.lens[b]}) has weight ${w} at position ${s}, outside the window or at padding: it must be exactly 0 (mask the scores before the softmax)`,
            );
          });
        });
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ localPWeights }) {
        const c = CASES()[1];
        const before = tf.memory().numTensors;
        const got = run(localPWeights, c);
        const extra = tf.memory().numTensors - before - 2;
        check(
          extra <= 0,
          `${call(c)} left ${extra} intermediate tensor(s) in memory besides its two results. ` +
            'Hint: return { positions, weights } from inside tf.tidy(() => { ... })',
        );
        expectClose(got.weights, reference(c).weights, { call: `${call(c)}.weights`, atol: 1e-5 });
      },
    },
  ],
});
