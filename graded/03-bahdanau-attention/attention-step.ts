/**
 * Graded tests of exercise 03.2 (a decoder step with additive attention). The reference is a
 * PyTorch computation of the step (`test/fixtures/torch-ch03-exercises.json`, made by
 * `make_torch_ch03_exercises.py`: masked softmax, context, `nn.GRUCell`), on a batch whose
 * sources have lengths 5, 2 and 1 with random values at the padded positions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeMismatch } from '../../src/core/compare';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/03-bahdanau-attention/attention-step';

type Stored = { shape: number[]; data: number[] };
type StepCase = {
  inputs: Record<'y' | 'sPrev' | 'keys' | 'memory' | 'wA' | 'v', Stored> & {
    srcValidLens: number[];
  };
  weights: Record<'wX' | 'wH' | 'bX' | 'bH', Stored>;
  outputs: Record<'weights' | 'context' | 's', Stored>;
};

const FIXTURE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'torch-ch03-exercises.json');

/** The fixture's step as float32 tensors, with PyTorch's outputs. */
function torchCase() {
  const c = (JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { cases: { attention: StepCase } })
    .cases.attention;
  const t = (s: Stored) => tf.tensor(s.data, s.shape, 'float32');
  return {
    y: t(c.inputs.y) as tf.Tensor2D,
    sPrev: t(c.inputs.sPrev) as tf.Tensor2D,
    keys: t(c.inputs.keys) as tf.Tensor3D,
    memory: t(c.inputs.memory) as tf.Tensor3D,
    srcValidLens: tf.tensor1d(c.inputs.srcValidLens, 'int32'),
    lens: c.inputs.srcValidLens,
    wA: t(c.inputs.wA) as tf.Tensor2D,
    v: t(c.inputs.v) as tf.Tensor1D,
    gru: {
      wX: t(c.weights.wX) as tf.Tensor2D,
      wH: t(c.weights.wH) as tf.Tensor2D,
      bX: t(c.weights.bX) as tf.Tensor1D,
      bH: t(c.weights.bH) as tf.Tensor1D,
    },
    expected: {
      weights: t(c.outputs.weights),
      context: t(c.outputs.context),
      s: t(c.outputs.s),
    },
  };
}

type Case = ReturnType<typeof torchCase>;
type Result = ReturnType<typeof Answers.attentionStep>;

const call = (c: Case) =>
  `attentionStep(${arg('y', c.y)}, ${arg('sPrev', c.sPrev)}, ${arg('keys', c.keys)}, ` +
  `${arg('memory', c.memory)}, srcValidLens ${JSON.stringify(c.lens)}, ${arg('wA', c.wA)}, ` +
  `${arg('v', c.v)}, gru {wX ${JSON.stringify(c.gru.wX.shape)}, ...})`;

/** Scores `[B, S]` of `query` `[B, D]` against the case's keys. */
function scoresOf(c: Case, query: tf.Tensor): tf.Tensor2D {
  const q = tf.matMul(query, c.wA).expandDims(1); // [B, D] x [D, A] -> [B, 1, A]
  return tf.sum(tf.mul(tf.tanh(tf.add(q, c.keys)), c.v), -1) as tf.Tensor2D; // -> [B, S]
}

/** The scores with padding set to -1e9. */
function masked(c: Case, scores: tf.Tensor2D): tf.Tensor2D {
  const s = scores.shape[1];
  const valid = tf.less(tf.range(0, s, 1, 'int32').expandDims(0), c.srcValidLens.expandDims(1)); // [B, S]
  return tf.where(valid, scores, tf.fill(scores.shape, -1e9)) as tf.Tensor2D;
}

/** The mistake the answer's weights show, if a known one. */
function diagnoseWeights(got: tf.Tensor, c: Case): string | undefined {
  const same = (other: tf.Tensor) => describeMismatch(got, other, { atol: 1e-4 }) === null;
  const scores = scoresOf(c, c.sPrev);
  if (same(tf.softmax(scores))) {
    return (
      `padding is not masked: source b has srcValidLens[b] = ${JSON.stringify(c.lens)} real ` +
      'positions, and every position j >= srcValidLens[b] must get weight exactly 0 (set its score to -1e9 before the softmax)'
    );
  }
  const overBatch = (x: tf.Tensor2D) => tf.softmax(x.transpose()).transpose();
  if (same(overBatch(masked(c, scores))) || same(overBatch(scores))) {
    return 'the softmax runs over the wrong axis (the batch): normalise each row over the source positions, the last axis of [B, S]';
  }
  if (same(tf.softmax(masked(c, scoresOf(c, c.expected.s))))) {
    return 'the query is the NEW state s_i: attend with the previous state sPrev (s_{i-1}), then update the GRU with the context';
  }
  return undefined;
}

/** The answer's result, checked to be an object with the three tensors. */
function runStep(answer: typeof Answers.attentionStep, c: Case): Result {
  const got = answer(c.y, c.sPrev, c.keys, c.memory, c.srcValidLens, c.wA, c.v, c.gru);
  check(
    got !== null && typeof got === 'object',
    `${call(c)}: expected an object { weights, context, s }, got ${String(got)}`,
  );
  return got;
}

export const attentionStepSpec = defineExercise<typeof Answers>({
  chapter: '03-bahdanau-attention',
  exercise: 'attention-step',
  // The library's additive scores, attention layer, GRU cell and models are withheld.
  reimplements: ['additiveScores', 'AdditiveAttention', 'GRUCell', 'GRU', 'BahdanauSeq2Seq'],
  file: 'attention-step.ts',
  title: 'A decoder step with additive attention',
  tests: [
    {
      name: 'attention weights match PyTorch (sources of lengths 5, 2 and 1)',
      points: 2,
      run({ attentionStep }) {
        const c = torchCase();
        const got = runStep(attentionStep, c).weights;
        let hint = 'a = softmax over j < srcValidLens[b] of v . tanh(sPrev W_a + keys_j)';
        if (got instanceof tf.Tensor) hint = diagnoseWeights(got, c) ?? hint;
        expectClose(got, c.expected.weights, {
          call: `${call(c)}.weights`,
          atol: 1e-5,
          rtol: 1e-4,
          hint,
        });
      },
    },
    {
      name: 'padding positions get exactly 0 and each row sums to 1',
      points: 1,
      run({ attentionStep }) {
        const c = torchCase();
        const got = runStep(attentionStep, c).weights;
        check(
          got instanceof tf.Tensor && got.shape.join() === c.expected.weights.shape.join(),
          `${call(c)}.weights: expected a tensor of shape [B, S] = [${c.expected.weights.shape.join(', ')}]`,
        );
        const rows = got.arraySync() as number[][];
        rows.forEach((row, b) => {
          const pad = row.slice(c.lens[b]);
          check(
            pad.every((w) => w === 0),
            `${call(c)}.weights: row ${b} has srcValidLens ${c.lens[b]} but weights ${JSON.stringify(pad)} ` +
              'at its padding positions; they must be exactly 0 (mask the scores before the softmax)',
          );
          const sum = row.reduce((a, w) => a + w, 0);
          check(
            Math.abs(sum - 1) < 1e-5,
            `${call(c)}.weights: row ${b} sums to ${sum}, not 1 (softmax over the source positions, the last axis)`,
          );
        });
      },
    },
    {
      name: 'the context is the weighted sum of the annotations',
      points: 1,
      run({ attentionStep }) {
        const c = torchCase();
        expectClose(runStep(attentionStep, c).context, c.expected.context, {
          call: `${call(c)}.context`,
          atol: 1e-5,
          rtol: 1e-4,
          hint: 'c = sum_j a_j memory_j: [B, 1, S] x [B, S, M] -> [B, 1, M], then drop the axis of size 1',
        });
      },
    },
    {
      name: 'the new state is the GRU update from [y ; c] and the previous state',
      points: 2,
      run({ attentionStep }) {
        const c = torchCase();
        const got = runStep(attentionStep, c).s;
        let hint = "s = GRU([y ; c], sPrev) with PyTorch's gate equations (exercise 03.1)";
        if (
          got instanceof tf.Tensor &&
          describeMismatch(got, c.expected.s, { atol: 1e-5 }) !== null
        ) {
          if (describeMismatch(got, c.sPrev, { atol: 1e-6 }) === null) {
            hint = 'you returned sPrev unchanged: update the state with the GRU';
          }
        }
        expectClose(got, c.expected.s, { call: `${call(c)}.s`, atol: 1e-5, rtol: 1e-4, hint });
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ attentionStep }) {
        const c = torchCase();
        const before = tf.memory().numTensors;
        const got = runStep(attentionStep, c);
        const extra = tf.memory().numTensors - before - 3;
        check(
          extra <= 0,
          `${call(c)} left ${extra} intermediate tensor(s) in memory besides its three results. ` +
            'Hint: return { weights, context, s } from inside tf.tidy(() => { ... })',
        );
        expectClose(got.weights, c.expected.weights, { call: `${call(c)}.weights`, atol: 1e-5 });
      },
    },
  ],
});
