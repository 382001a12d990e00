/**
 * Graded tests of exercise 06.1 (an encoder block's forward pass). The reference is PyTorch's
 * `nn.TransformerEncoderLayer` (`test/fixtures/torch-transformer.json`, made by
 * `make_torch_transformer.py`: dropout 0, relu, batch_first, `norm_first` for pre-norm), on a
 * batch of two sources of lengths 4 and 2 whose padded positions hold random numbers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeMismatch } from '../../src/core/compare';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/06-transformer/encoder-block';

type Stored = { shape: number[]; data: number[] };
type BlockCase = {
  config: { numHeads: number; srcLens: number[] };
  inputs: { x: Stored };
  params: Record<string, Stored>;
  outputs: { output: Stored };
};
type Norm = 'post' | 'pre';

const FIXTURE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'torch-transformer.json');

/** Fixture parameter names (our modules') -> the exercise's weight names. */
const NAMES: Record<string, keyof Answers.EncoderBlockWeights> = {
  'selfAttn.wQ.weight': 'wQ',
  'selfAttn.wK.weight': 'wK',
  'selfAttn.wV.weight': 'wV',
  'selfAttn.wO.weight': 'wO',
  'selfAttn.wQ.bias': 'bQ',
  'selfAttn.wK.bias': 'bK',
  'selfAttn.wV.bias': 'bV',
  'selfAttn.wO.bias': 'bO',
  'ffn.linear1.weight': 'w1',
  'ffn.linear1.bias': 'b1',
  'ffn.linear2.weight': 'w2',
  'ffn.linear2.bias': 'b2',
  'norm1.gamma': 'gamma1',
  'norm1.beta': 'beta1',
  'norm2.gamma': 'gamma2',
  'norm2.beta': 'beta2',
};

/** The fixture's case for one norm placement, as float32 tensors, with PyTorch's output. */
function torchCase(norm: Norm) {
  const c = (JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { cases: Record<string, BlockCase> })
    .cases[`encoder_${norm}`];
  const t = (s: Stored) => tf.tensor(s.data, s.shape, 'float32');
  const w = {} as Record<keyof Answers.EncoderBlockWeights, tf.Tensor>;
  for (const [from, to] of Object.entries(NAMES)) w[to] = t(c.params[from]);
  return {
    norm,
    x: t(c.inputs.x) as tf.Tensor3D,
    lens: c.config.srcLens,
    srcValidLens: tf.tensor1d(c.config.srcLens, 'int32'),
    numHeads: c.config.numHeads,
    w: w as unknown as Answers.EncoderBlockWeights,
    expected: t(c.outputs.output),
  };
}

type Case = ReturnType<typeof torchCase>;

const call = (c: Case, x = c.x) =>
  `encoderBlock(${arg('x', x)}, srcValidLens ${JSON.stringify(c.lens)}, w, ${c.numHeads}, '${c.norm}')`;

type Mistake = 'swapped norm' | 'no residual' | 'no mask' | 'mask on queries' | 'scale sqrt(D)';

/** The block with one of the usual mistakes (the grader's own by-hand version). */
function variant(c: Case, mistake: Mistake): tf.Tensor {
  const { w, x } = c;
  const [B, S, D] = x.shape;
  const H = c.numHeads;
  const Dh = D / H;
  const linear = (z: tf.Tensor, wt: tf.Tensor2D, b: tf.Tensor1D) =>
    tf.add(tf.matMul(z.reshape([-1, wt.shape[0]]), wt), b).reshape([B, S, wt.shape[1]]);
  const ln = (z: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D) => {
    const { mean, variance } = tf.moments(z, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
  };
  const split = (z: tf.Tensor) => z.reshape([B, S, H, Dh]).transpose([0, 2, 1, 3]); // [B, S, D] -> [B, H, S, Dh]
  const pos = tf.range(0, S, 1, 'int32');
  const lens = c.srcValidLens;
  const keep =
    mistake === 'mask on queries'
      ? tf.less(pos.reshape([1, 1, S, 1]), lens.reshape([B, 1, 1, 1])) // [B, 1, S, 1]: rows
      : tf.less(pos.reshape([1, 1, 1, S]), lens.reshape([B, 1, 1, 1])); // [B, 1, 1, S]: keys
  const bias =
    mistake === 'no mask' ? tf.scalar(0) : tf.mul(tf.sub(1, tf.cast(keep, 'float32')), -1e9);
  const attn = (z: tf.Tensor) => {
    const scale = mistake === 'scale sqrt(D)' ? Math.sqrt(D) : Math.sqrt(Dh);
    const q = split(linear(z, w.wQ, w.bQ));
    const k = split(linear(z, w.wK, w.bK));
    const v = split(linear(z, w.wV, w.bV));
    const a = tf.softmax(tf.add(tf.div(tf.matMul(q, k, false, true), scale), bias)); // [B, H, S, S]
    return linear(tf.matMul(a, v).transpose([0, 2, 1, 3]).reshape([B, S, D]), w.wO, w.bO);
  };
  const ffn = (z: tf.Tensor) => linear(tf.relu(linear(z, w.w1, w.b1)), w.w2, w.b2);
  const res = (a: tf.Tensor, b: tf.Tensor) => (mistake === 'no residual' ? b : tf.add(a, b));
  const post = (c.norm === 'post') !== (mistake === 'swapped norm');
  if (post) {
    const h = ln(res(x, attn(x)), w.gamma1, w.beta1);
    return ln(res(h, ffn(h)), w.gamma2, w.beta2);
  }
  const h = res(x, attn(ln(x, w.gamma1, w.beta1)));
  return res(h, ffn(ln(h, w.gamma2, w.beta2)));
}

function hintFor(c: Case, got: tf.Tensor): string {
  const other = c.norm === 'post' ? 'pre' : 'post';
  const hints: Record<Mistake, string> = {
    'swapped norm':
      c.norm === 'post'
        ? `your block is the ${other}-norm one: post-norm applies the layer norm AFTER each residual sum, h = LN1(x + SelfAttn(x)), out = LN2(h + FFN(h))`
        : `your block is the ${other}-norm one: pre-norm normalises only the sub-layer's INPUT and adds the raw x back, h = x + SelfAttn(LN1(x)), out = h + FFN(LN2(h))`,
    'no residual':
      'the residual connections are missing: each sub-layer ADDS its output to its input (x + SelfAttn(...), h + FFN(...))',
    'no mask': `padding keys are not masked: keys s >= srcValidLens[b] (lengths ${JSON.stringify(c.lens)}) must get weight exactly 0 (add -1e9 to their scores before the softmax)`,
    'mask on queries':
      'the padding mask hides query ROWS instead of key COLUMNS: shape it [B, 1, 1, S] so that it broadcasts over heads and queries and masks the last axis of the scores [B, H, S, S]',
    'scale sqrt(D)':
      'the scores are divided by sqrt(D): each head divides by sqrt(Dh), its own width D / H',
  };
  for (const m of Object.keys(hints) as Mistake[]) {
    if (tf.tidy(() => describeMismatch(got, variant(c, m), { atol: 1e-4 }) === null))
      return hints[m];
  }
  return c.norm === 'post'
    ? 'h = LN1(x + SelfAttn(x)), out = LN2(h + FFN(h)), with the padding keys masked and scores divided by sqrt(D / H)'
    : 'h = x + SelfAttn(LN1(x)), out = h + FFN(LN2(h)), with the padding keys masked and scores divided by sqrt(D / H)';
}

function matchTorch(answer: typeof Answers.encoderBlock, norm: Norm): void {
  const c = torchCase(norm);
  const got = answer(c.x, c.srcValidLens, c.w, c.numHeads, norm);
  let hint = '';
  if (got instanceof tf.Tensor && got.shape.join() === c.expected.shape.join()) {
    if (describeMismatch(got, c.expected, { atol: 1e-5, rtol: 1e-4 }) !== null)
      hint = hintFor(c, got);
  }
  expectClose(got, c.expected, { call: call(c), atol: 1e-5, rtol: 1e-4, hint: hint || undefined });
}

export const encoderBlockSpec = defineExercise<typeof Answers>({
  chapter: '06-transformer',
  exercise: 'encoder-block',
  reimplements: [
    'EncoderBlock',
    'DecoderBlock',
    'TransformerSeq2Seq',
    'MultiHeadAttention',
    'LayerNorm',
    'FeedForward',
    'scaledDotProductAttention',
  ],
  file: 'encoder-block.ts',
  title: 'The encoder block’s forward pass',
  tests: [
    {
      name: 'post-norm block matches PyTorch’s nn.TransformerEncoderLayer (lengths 4 and 2)',
      points: 3,
      run: ({ encoderBlock }) => matchTorch(encoderBlock, 'post'),
    },
    {
      name: 'pre-norm block matches PyTorch’s nn.TransformerEncoderLayer(norm_first = true)',
      points: 3,
      run: ({ encoderBlock }) => matchTorch(encoderBlock, 'pre'),
    },
    {
      name: 'what sits at padded positions does not change the real positions’ output',
      points: 1,
      run({ encoderBlock }) {
        const c = torchCase('pre');
        const [B, S, D] = c.x.shape;
        const real = tf.tensor(
          Array.from({ length: B * S * D }, (_, i) =>
            Math.floor(i / D) % S < c.lens[Math.floor(i / (S * D))] ? 1 : 0,
          ),
          [B, S, D],
        );
        const noisy = tf.add(c.x, tf.mul(tf.sub(1, real), 5)) as tf.Tensor3D; // changes padding only
        const a = encoderBlock(c.x, c.srcValidLens, c.w, c.numHeads, 'pre');
        const b = encoderBlock(noisy, c.srcValidLens, c.w, c.numHeads, 'pre');
        check(a instanceof tf.Tensor && b instanceof tf.Tensor, `${call(c)}: expected a tf.Tensor`);
        expectClose(tf.mul(b, real), tf.mul(a, real), {
          call: `${call(c, noisy)} with other values at the padded positions`,
          atol: 1e-5,
          hint: 'the real positions changed when only padding changed: padding keys (s >= srcValidLens[b]) must get weight exactly 0',
        });
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ encoderBlock }) {
        const c = torchCase('post');
        const before = tf.memory().numTensors;
        const got = encoderBlock(c.x, c.srcValidLens, c.w, c.numHeads, 'post');
        const extra = tf.memory().numTensors - before - 1;
        check(
          extra <= 0,
          `${call(c)} left ${extra} intermediate tensor(s) in memory besides its result. ` +
            'Hint: return the output from inside tf.tidy(() => { ... })',
        );
        expectClose(got, c.expected, { call: call(c), atol: 1e-5, rtol: 1e-4 });
      },
    },
  ],
});
