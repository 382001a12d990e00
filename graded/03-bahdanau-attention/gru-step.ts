/**
 * Graded tests of exercise 03.1 (one GRU step). The references are PyTorch's `nn.GRUCell`
 * (`test/fixtures/torch-ch03-exercises.json`, made by `make_torch_ch03_exercises.py`) and a case
 * computed by hand.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeMismatch } from '../../src/core/compare';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/03-bahdanau-attention/gru-step';

type Stored = { shape: number[]; data: number[] };
type GruCase = {
  inputs: { x: Stored; h: Stored };
  weights: { wX: Stored; wH: Stored; bX: Stored; bH: Stored };
  outputs: { h: Stored };
};

const FIXTURE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'torch-ch03-exercises.json');

/** A case of the PyTorch fixture as float32 tensors, with PyTorch's new state. */
function torchCase(name: 'gru_small' | 'gru_wide') {
  const c = (JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { cases: Record<string, GruCase> })
    .cases[name];
  const t = (s: Stored) => tf.tensor(s.data, s.shape, 'float32');
  return {
    x: t(c.inputs.x) as tf.Tensor2D,
    h: t(c.inputs.h) as tf.Tensor2D,
    wX: t(c.weights.wX) as tf.Tensor2D,
    wH: t(c.weights.wH) as tf.Tensor2D,
    bX: t(c.weights.bX) as tf.Tensor1D,
    bH: t(c.weights.bH) as tf.Tensor1D,
    expected: t(c.outputs.h),
  };
}

type Case = ReturnType<typeof torchCase>;

const call = (c: Case) =>
  `gruStep(${arg('x', c.x)}, ${arg('h', c.h)}, ${arg('wX', c.wX)}, ${arg('wH', c.wH)}, ` +
  `${arg('bX', c.bX)}, ${arg('bH', c.bH)})`;

/** A GRU step with one of the classic mistakes, to recognise it in an answer. */
function variant(c: Case, mistake: 'z swapped' | 'paper reset' | 'gates n | z | r'): tf.Tensor {
  const xp = tf.add(tf.matMul(c.x, c.wX), c.bX); // [B, I] x [I, 3D] -> [B, 3D]
  const hp = tf.add(tf.matMul(c.h, c.wH), c.bH); // [B, D] x [D, 3D] -> [B, 3D]
  let [xR, xZ, xN] = tf.split(xp, 3, -1); // [B, 3D] -> 3 x [B, D]
  let [hR, hZ, hN] = tf.split(hp, 3, -1);
  if (mistake === 'gates n | z | r') {
    [xR, xN] = [xN, xR];
    [hR, hN] = [hN, hR];
  }
  const r = tf.sigmoid(tf.add(xR, hR));
  const z = tf.sigmoid(tf.add(xZ, hZ));
  const [, , wHn] = tf.split(c.wH, 3, -1); // [D, 3D] -> [D, D]
  const [, , bHn] = tf.split(c.bH, 3, -1); // [3D] -> [D]
  const n =
    mistake === 'paper reset'
      ? tf.tanh(tf.add(xN, tf.add(tf.matMul(tf.mul(r, c.h), wHn), bHn))) // W_hn (r * h) + b_hn
      : tf.tanh(tf.add(xN, tf.mul(r, hN)));
  return mistake === 'z swapped'
    ? tf.add(tf.mul(z, n), tf.mul(tf.sub(1, z), c.h))
    : tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, c.h));
}

/** What the answer's result shows, when it is a known mistake. */
function diagnose(got: tf.Tensor, c: Case): string | undefined {
  const same = (other: tf.Tensor) => describeMismatch(got, other, { atol: 1e-4 }) === null;
  if (same(variant(c, 'z swapped'))) {
    return "z and 1 - z are swapped: an update gate near 1 must KEEP the old state, h' = (1 - z) * n + z * h";
  }
  if (same(variant(c, 'paper reset'))) {
    return "you applied the reset gate before the product, W_hn (r * h) as in the paper; PyTorch's GRU applies it after: r * (h W_hn + b_hn)";
  }
  if (same(variant(c, 'gates n | z | r'))) {
    return 'the gates are in the wrong order: the columns of wX and wH are r | z | n (reset first, candidate last)';
  }
  if (same(c.h)) return 'you returned h unchanged: compute the gates and the candidate state n';
  return undefined;
}

/** Fails with the call, the difference and a hint unless the answer matches PyTorch. */
function agreesWithTorch(answer: typeof Answers.gruStep, c: Case, hint: string): tf.Tensor {
  const got = answer(c.x, c.h, c.wX, c.wH, c.bX, c.bH);
  if (got instanceof tf.Tensor && describeMismatch(got, c.expected, { atol: 1e-5 }) !== null) {
    hint = diagnose(got, c) ?? hint;
  }
  expectClose(got, c.expected, { call: call(c), atol: 1e-5, rtol: 1e-5, hint });
  return got;
}

export const gruStepSpec = defineExercise<typeof Answers>({
  chapter: '03-bahdanau-attention',
  exercise: 'gru-step',
  // The library's GRU cell is withheld while this is graded.
  reimplements: ['GRUCell', 'GRU'],
  file: 'gru-step.ts',
  title: 'One GRU step',
  tests: [
    {
      name: "matches PyTorch's nn.GRUCell (input width 3, state width 2)",
      points: 2,
      run({ gruStep }) {
        agreesWithTorch(
          gruStep,
          torchCase('gru_small'),
          "r and z from sigmoid(x W_x + b_x + h W_h + b_h), n = tanh(x W_xn + b_xn + r * (h W_hn + b_hn)), h' = (1 - z) n + z h",
        );
      },
    },
    {
      name: "matches PyTorch's nn.GRUCell (batch 3, input width 5, state width 4)",
      points: 1,
      run({ gruStep }) {
        agreesWithTorch(
          gruStep,
          torchCase('gru_wide'),
          'split the 3D columns into r | z | n blocks of width D = h.shape[1]',
        );
      },
    },
    {
      name: 'a hand-computed case: an update gate near 0 replaces the state by the candidate',
      points: 1,
      run({ gruStep }) {
        // I = D = 1. z = sigmoid(-20) ~ 2e-9, r = sigmoid(0) = 1/2, so h' = n =
        // tanh(x + (1/2) (2 h + 1)): x = 1, h = 1/2 -> tanh(2); x = -1, h = -1/2 -> tanh(-1).
        const c = {
          x: tf.tensor2d([[1], [-1]]),
          h: tf.tensor2d([[0.5], [-0.5]]),
          wX: tf.tensor2d([[0, 0, 1]]),
          wH: tf.tensor2d([[0, 0, 2]]),
          bX: tf.tensor1d([0, -20, 0]),
          bH: tf.tensor1d([0, 0, 1]),
          expected: tf.tensor2d([[0.9640275800758169], [-0.7615941559557649]]),
        };
        agreesWithTorch(
          gruStep,
          c,
          'with z ~ 0 the new state is the candidate n = tanh(x W_xn + b_xn + r * (h W_hn + b_hn))',
        );
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ gruStep }) {
        const c = torchCase('gru_small');
        const before = tf.memory().numTensors;
        const got = gruStep(c.x, c.h, c.wX, c.wH, c.bX, c.bH);
        const extra = tf.memory().numTensors - before - 1;
        check(
          extra <= 0,
          `${call(c)} left ${extra} intermediate tensor(s) in memory besides its result. ` +
            'Hint: wrap the computation in tf.tidy(() => { ... return hNew; })',
        );
        expectClose(got, c.expected, { call: call(c), atol: 1e-5, rtol: 1e-5 });
      },
    },
  ],
});
