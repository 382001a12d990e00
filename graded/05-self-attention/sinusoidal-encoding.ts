/**
 * Graded tests of exercise 05.2 (sinusoidal positional encoding). The oracle is the formula of
 * Vaswani et al. (2017, Section 3.5) evaluated here in double precision, entry by entry; the
 * library's `sinusoidalEncoding` (checked against PyTorch in the course's tests) is withheld.
 */
import * as tf from '@tensorflow/tfjs';
import { describeMismatch } from '../../src/core/compare';
import { check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/05-self-attention/sinusoidal-encoding';

/** `[L, D]` rows from `entry(pos, d)`. */
function table(len: number, width: number, entry: (pos: number, d: number) => number): number[][] {
  return Array.from({ length: len }, (_, pos) =>
    Array.from({ length: width }, (_, d) => entry(pos, d)),
  );
}

const freq = (i: number, width: number) => 1 / Math.pow(10000, (2 * i) / width);

/** The paper's interleaved layout: sin in dimension 2i, cos in 2i + 1. */
const interleaved = (len: number, width: number) =>
  table(len, width, (pos, d) => {
    const a = pos * freq(Math.floor(d / 2), width);
    return d % 2 === 0 ? Math.sin(a) : Math.cos(a);
  });

/** Known wrong answers, each with what to change. */
function mistakes(len: number, width: number): [number[][], string][] {
  const half = width / 2;
  return [
    [
      table(len, width, (pos, d) =>
        d < half ? Math.sin(pos * freq(d, width)) : Math.cos(pos * freq(d - half, width)),
      ),
      'your table puts all sines in the first half and all cosines in the second half; the ' +
        "course uses the paper's interleaved layout: sin in the even dimension 2i, cos in 2i + 1",
    ],
    [
      table(len, width, (pos, d) => {
        const a = pos * freq(Math.floor(d / 2), width);
        return d % 2 === 0 ? Math.cos(a) : Math.sin(a);
      }),
      'sin and cos are swapped: the even dimension 2i holds sin, the odd one 2i + 1 holds cos',
    ],
    [
      table(len, width, (pos, d) => {
        const a = pos / Math.pow(10000, d / width);
        return d % 2 === 0 ? Math.sin(a) : Math.cos(a);
      }),
      'the exponent uses the dimension d itself (d / D); the sine and the cosine of a pair share ' +
        'one frequency: 10000^(2i / D) with i = floor(d / 2)',
    ],
    [
      table(len, width, (pos, d) => {
        const a = pos * Math.pow(10000, (2 * Math.floor(d / 2)) / width);
        return d % 2 === 0 ? Math.sin(a) : Math.cos(a);
      }),
      'you multiply the position by 10000^(2i / D); divide by it (the frequencies fall with i)',
    ],
  ];
}

function checkTable(answer: typeof Answers.sinusoidalEncoding, len: number, width: number) {
  const call = `sinusoidalEncoding(${len}, ${width})`;
  const got = answer(len, width);
  let hint = 'P[pos, 2i] = sin(pos / 10000^(2i / D)), P[pos, 2i + 1] = cos(pos / 10000^(2i / D))';
  if (got instanceof tf.Tensor && !got.isDisposed) {
    for (const [wrong, message] of mistakes(len, width)) {
      if (describeMismatch(got, wrong, { atol: 1e-5 }) === null) {
        hint = message;
        break;
      }
    }
  }
  expectClose(got, interleaved(len, width), { call, atol: 1e-5, hint });
  return got;
}

export const sinusoidalEncodingSpec = defineExercise<typeof Answers>({
  chapter: '05-self-attention',
  exercise: 'sinusoidal-encoding',
  reimplements: ['sinusoidalEncoding', 'sinusoidalShiftMatrix'],
  file: 'sinusoidal-encoding.ts',
  title: 'Sinusoidal positional encoding',
  tests: [
    {
      name: 'row 0 is [0, 1, 0, 1, ...] (sin 0 and cos 0)',
      points: 1,
      run({ sinusoidalEncoding }) {
        const got = checkTable(sinusoidalEncoding, 1, 6);
        check(
          got.dtype === 'float32',
          `sinusoidalEncoding(1, 6): expected float32, got ${got.dtype}`,
        );
      },
    },
    {
      name: 'matches the formula for small tables',
      points: 2,
      run({ sinusoidalEncoding }) {
        checkTable(sinusoidalEncoding, 10, 4);
        checkTable(sinusoidalEncoding, 7, 8);
      },
    },
    {
      name: 'matches the formula for a long, wide table (L = 200, D = 64)',
      points: 1,
      run({ sinusoidalEncoding }) {
        checkTable(sinusoidalEncoding, 200, 64);
      },
    },
  ],
});
