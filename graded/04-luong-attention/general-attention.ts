/**
 * Graded tests of exercise 04.1 (Luong's global attention with the `general` score). The
 * reference is written here with plain loops in float64 from the float32 inputs, on seeded random
 * batches whose sources have different lengths (one of length 1) and random values at padding.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../src/core/random';
import { describeMismatch } from '../../src/core/compare';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/04-luong-attention/general-attention';

interface Case {
  h: tf.Tensor2D;
  hPrev: tf.Tensor2D;
  memory: tf.Tensor3D;
  srcValidLens: tf.Tensor1D;
  lens: number[];
  wA: tf.Tensor2D;
  wC: tf.Tensor2D;
}

/** A seeded batch: B sources of padded length S, state width D, memory width M. */
function makeCase(seed: number, lens: number[], s: number, d: number, m: number): Case {
  const rng = createRng(seed);
  const rand = (shape: number[], scale: number) =>
    tf.tensor(
      Array.from({ length: shape.reduce((a, x) => a * x, 1) }, () => rng.normal() * scale),
      shape,
      'float32',
    );
  const b = lens.length;
  return {
    h: rand([b, d], 1) as tf.Tensor2D,
    hPrev: rand([b, d], 1) as tf.Tensor2D,
    memory: rand([b, s, m], 1) as tf.Tensor3D,
    srcValidLens: tf.tensor1d(lens, 'int32'),
    lens,
    wA: rand([d, m], 0.6) as tf.Tensor2D,
    wC: rand([m + d, d], 0.5) as tf.Tensor2D,
  };
}

const CASES = (): Case[] => [makeCase(41, [5, 2, 1], 5, 4, 3), makeCase(42, [3, 6], 6, 3, 5)];

interface Variant {
  /** Use the previous state as the query. */
  prev?: boolean;
  /** Forget the padding mask. */
  noMask?: boolean;
  /** Concatenate [h ; c] instead of [c ; h]. */
  swap?: boolean;
  /** Forget the tanh of h~. */
  noTanh?: boolean;
}

/** The reference (or a known mistake), in float64 loops. */
function reference(c: Case, v: Variant = {}) {
  const h = (v.prev ? c.hPrev : c.h).arraySync();
  const hNow = c.h.arraySync();
  const mem = c.memory.arraySync();
  const wA = c.wA.arraySync();
  const wC = c.wC.arraySync();
  const [m, d] = [mem[0][0].length, hNow[0].length];
  const weights: number[][] = [];
  const context: number[][] = [];
  const attentional: number[][] = [];
  mem.forEach((rows, b) => {
    const q = Array.from({ length: m }, (_, j) => h[b].reduce((a, x, i) => a + x * wA[i][j], 0));
    const n = v.noMask ? rows.length : c.lens[b];
    const scores = rows.map((row) => row.reduce((a, x, j) => a + x * q[j], 0));
    const top = Math.max(...scores.slice(0, n));
    const e = scores.map((x, s) => (s < n ? Math.exp(x - top) : 0));
    const z = e.reduce((a, x) => a + x, 0);
    const w = e.map((x) => x / z);
    const ctx = Array.from({ length: m }, (_, j) =>
      rows.reduce((a, row, s) => a + w[s] * row[j], 0),
    );
    const cat = v.swap ? [...hNow[b], ...ctx] : [...ctx, ...hNow[b]];
    const pre = Array.from({ length: d }, (_, k) => cat.reduce((a, x, i) => a + x * wC[i][k], 0));
    weights.push(w);
    context.push(ctx);
    attentional.push(v.noTanh ? pre : pre.map(Math.tanh));
  });
  return { weights, context, attentional };
}

const call = (c: Case) =>
  `generalAttention(${arg('h', c.h)}, ${arg('hPrev', c.hPrev)}, ${arg('memory', c.memory)}, ` +
  `srcValidLens ${JSON.stringify(c.lens)}, ${arg('wA', c.wA)}, ${arg('wC', c.wC)})`;

type Result = ReturnType<typeof Answers.generalAttention>;

function run(answer: typeof Answers.generalAttention, c: Case): Result {
  const got = answer(c.h, c.hPrev, c.memory, c.srcValidLens, c.wA, c.wC);
  check(
    got !== null && typeof got === 'object',
    `${call(c)}: expected an object { weights, context, attentional }, got ${String(got)}`,
  );
  return got;
}

const matches = (got: unknown, want: number[][]) =>
  got instanceof tf.Tensor && describeMismatch(got, want, { atol: 1e-4 }) === null;

const PREV_HINT =
  "the query is the previous state hPrev (Bahdanau's): Luong attends with the CURRENT state h";

/** The known mistake the weights show, if any. */
function weightsHint(got: unknown, c: Case): string {
  if (matches(got, reference(c, { prev: true }).weights)) {
    return PREV_HINT;
  }
  if (matches(got, reference(c, { noMask: true }).weights)) {
    return `padding is not masked: source b has srcValidLens[b] (${JSON.stringify(c.lens)}) real positions; set the scores of the others to -1e9 before the softmax`;
  }
  if (matches(got, reference(c, { prev: true, noMask: true }).weights)) {
    return 'two mistakes: the query must be the current state h (not hPrev), and padding must be masked';
  }
  return 'score_s = (h wA) . memory_s, softmax over s < srcValidLens[b]';
}

export const generalAttentionSpec = defineExercise<typeof Answers>({
  chapter: '04-luong-attention',
  exercise: 'general-attention',
  // The library's Luong layers and models are withheld.
  reimplements: ['LuongGeneralAttention', 'LuongSeq2Seq'],
  file: 'general-attention.ts',
  title: "Luong's general score and the attentional state",
  tests: [
    {
      name: 'attention weights: general score with the current state, padding masked',
      points: 2,
      run({ generalAttention }) {
        for (const c of CASES()) {
          const got = run(generalAttention, c).weights;
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
      name: 'padding positions get exactly 0',
      points: 1,
      run({ generalAttention }) {
        const c = CASES()[0];
        const got = run(generalAttention, c).weights;
        check(
          got instanceof tf.Tensor && got.shape.join() === [c.lens.length, 5].join(),
          `${call(c)}.weights: expected a tensor of shape [B, S] = [${c.lens.length}, 5]`,
        );
        (got.arraySync() as number[][]).forEach((row, b) => {
          const pad = row.slice(c.lens[b]);
          check(
            pad.every((w) => w === 0),
            `${call(c)}.weights: row ${b} has srcValidLens ${c.lens[b]} but weights ${JSON.stringify(pad)} at padding; they must be exactly 0 (mask the scores before the softmax)`,
          );
        });
      },
    },
    {
      name: 'the context is the weighted sum of the encoder states',
      points: 1,
      run({ generalAttention }) {
        for (const c of CASES()) {
          const got = run(generalAttention, c).context;
          let hint = 'c = sum_s a_s memory_s: [B, 1, S] x [B, S, M] -> [B, M]';
          if (matches(got, reference(c, { prev: true }).context)) hint = PREV_HINT;
          expectClose(got, reference(c).context, {
            call: `${call(c)}.context`,
            atol: 1e-5,
            rtol: 1e-4,
            hint,
          });
        }
      },
    },
    {
      name: 'the attentional state is tanh([c ; h] wC)',
      points: 2,
      run({ generalAttention }) {
        for (const c of CASES()) {
          const got = run(generalAttention, c).attentional;
          let hint = 'h~ = tanh(concat([c, h]) wC): the context first, then the current state';
          if (matches(got, reference(c, { prev: true }).attentional)) {
            hint = PREV_HINT;
          } else if (matches(got, reference(c, { swap: true }).attentional)) {
            hint =
              'the concatenation is in the wrong order: W_c [c_t ; h_t] puts the context FIRST, tf.concat([context, h], 1)';
          } else if (matches(got, reference(c, { noTanh: true }).attentional)) {
            hint = 'the tanh is missing: h~ = tanh(W_c [c ; h])';
          }
          expectClose(got, reference(c).attentional, {
            call: `${call(c)}.attentional`,
            atol: 1e-5,
            rtol: 1e-4,
            hint,
          });
        }
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ generalAttention }) {
        const c = CASES()[1];
        const before = tf.memory().numTensors;
        const got = run(generalAttention, c);
        const extra = tf.memory().numTensors - before - 3;
        check(
          extra <= 0,
          `${call(c)} left ${extra} intermediate tensor(s) in memory besides its three results. ` +
            'Hint: return { weights, context, attentional } from inside tf.tidy(() => { ... })',
        );
        expectClose(got.weights, reference(c).weights, { call: `${call(c)}.weights`, atol: 1e-5 });
      },
    },
  ],
});
