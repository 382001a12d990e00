/**
 * One mask vocabulary: the same masks ({ validLens, causal, mask } and their combinations, AND)
 * through every attention entry point, against PyTorch references (fixture `mask_vocabulary`,
 * see test/fixtures/README.md).
 */
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { LocalPAttention } from '../../src/attention/local';
import { keyPaddingMask, sequenceMask, type AttentionMaskOptions } from '../../src/attention/masks';
import { MultiHeadAttention } from '../../src/attention/multihead';
import { attentionPooling, scaledDotProductAttention } from '../../src/attention/pooling';
import { AdditiveAttention, DotProductAttention } from '../../src/attention/scoring';
import { maskedSoftmax } from '../../src/attention/softmax';
import { fixture, ft, type FixtureValue } from '../helpers/fixtures';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

const c = fixture('mask_vocabulary');
const config = c.config as {
  numHeads: number;
  hiddenDim: number;
  window: number;
  masks: Record<string, { validLens?: FixtureValue; causal?: boolean; mask?: 'bool' | 'float' }>;
};
const D = c.inputs!.query && (c.inputs!.query as { shape: number[] }).shape[2]!;

/** The fixture's mask set as the library's options (fresh tensors, disposed by the caller). */
function options(name: string): AttentionMaskOptions {
  const spec = config.masks[name]!;
  const opts: AttentionMaskOptions = {};
  if (spec.validLens !== undefined) opts.validLens = ft(spec.validLens);
  if (spec.causal !== undefined) opts.causal = spec.causal;
  if (spec.mask === 'bool') opts.mask = ft(c.inputs!.maskBool, 'bool');
  if (spec.mask === 'float') {
    // finite part plus -Infinity where hidden: JSON cannot hold -Infinity
    const hidden = ft(c.inputs!.maskHidden, 'bool');
    opts.mask = tf.where(hidden, tf.fill(hidden.shape, -Infinity), ft(c.inputs!.maskBias));
  }
  return opts;
}

type Result = { output: tf.Tensor; weights: tf.Tensor };
type Inputs = { query: tf.Tensor; key: tf.Tensor; value: tf.Tensor };

/** Builds the layers from the fixture's parameters once. */
function layers() {
  const p = (n: string) => ft(c.params![n]);
  const additive = new AdditiveAttention({ queryDim: D, keyDim: D, hiddenDim: config.hiddenDim });
  additive.wQ.setWeights(p('add_W_q'));
  additive.wK.setWeights(p('add_W_k'));
  additive.v.assign(p('add_v'));
  const mha = new MultiHeadAttention({ dModel: D, numHeads: config.numHeads });
  mha.setWeights({
    wQ: p('mha_W_q'),
    wK: p('mha_W_k'),
    wV: p('mha_W_v'),
    wO: p('mha_W_o'),
    bQ: p('mha_b_q'),
    bK: p('mha_b_k'),
    bV: p('mha_b_v'),
    bO: p('mha_b_o'),
  });
  const local = new LocalPAttention({
    queryDim: D,
    keyDim: D,
    hiddenDim: config.hiddenDim,
    window: config.window,
  });
  local.wP.setWeights(p('local_W_p'));
  local.vP.assign(p('local_v_p'));
  local.wA.setWeights(p('local_W_a'));
  return { additive, mha, local, dot: new DotProductAttention(true) };
}

describe('one mask vocabulary through every attention entry point (PyTorch fixture)', () => {
  let L: ReturnType<typeof layers>;
  let x: Inputs;
  before(() => {
    L = layers();
    x = { query: ft(c.inputs!.query), key: ft(c.inputs!.key), value: ft(c.inputs!.value) };
  });
  after(() => {
    for (const layer of [L.additive, L.mha, L.local]) layer.dispose();
    tf.dispose([x.query, x.key, x.value]);
  });

  /** Scores `q k^T / sqrt(D)` computed here, for the entry points that take scores. */
  const scores = (): tf.Tensor => tf.div(tf.matMul(x.query, x.key, false, true), Math.sqrt(D)); // [B, T, D] x [B, S, D]^T -> [B, T, S]

  // entry point -> [fixture entry, run]
  const entries: [string, string, (o: AttentionMaskOptions) => Partial<Result>][] = [
    ['maskedSoftmax', 'scaledDot', (o) => ({ weights: maskedSoftmax(scores(), o) })],
    ['attentionPooling', 'scaledDot', (o) => attentionPooling(scores(), x.value, o)],
    [
      'scaledDotProductAttention',
      'scaledDot',
      (o) => scaledDotProductAttention(x.query, x.key, x.value, o),
    ],
    ['DotProductAttention.apply', 'scaledDot', (o) => L.dot.apply(x.query, x.key, x.value, o)],
    ['AdditiveAttention.apply', 'additive', (o) => L.additive.apply(x.query, x.key, x.value, o)],
    ['MultiHeadAttention.apply', 'mha', (o) => L.mha.apply(x.query, x.key, x.value, o)],
    ['LocalPAttention.apply', 'localP', (o) => L.local.apply(x.query, x.key, x.value, o)],
  ];

  for (const [entry, ref, run] of entries) {
    it(`${entry}: every mask set matches PyTorch`, () => {
      let compared = 0;
      for (const name of Object.keys(config.masks)) {
        const expected = c.outputs[`${ref}.${name}.weights`];
        if (expected === undefined) continue; // local-p needs lengths >= 1
        tf.tidy(() => {
          const got = run(options(name));
          const label = `${entry} with ${name}`;
          expectTensorsClose(got.weights!, expected, { label: `${label}: weights` });
          if (got.output) {
            const output = c.outputs[`${ref}.${name}.output`]!;
            expectTensorsClose(got.output, output, { label: `${label}: output` });
          }
        });
        compared++;
      }
      assert.ok(compared >= 10, `${entry}: only ${compared} mask sets compared`);
    });
  }

  it('local-p rejects a zero source length, naming validLens', () => {
    assert.throws(
      () => L.local.apply(x.query, x.key, x.value, options('emptyRows')),
      /^RangeError: LocalPAttention\.apply: validLens: expected every source length >= 1, got 0/,
    );
  });

  it('a fully hidden row gets zero weights everywhere (not NaN)', () => {
    tf.tidy(() => {
      const w = L.mha.apply(x.query, x.key, x.value, options('emptyRows')).weights; // [B, H, T, S]
      assert.equal(tf.sum(tf.abs(w.slice([0], [1]))).arraySync(), 0);
      assert.ok(!tf.any(tf.isNaN(w)).arraySync());
    });
  });

  it('does not leak tensors', async () => {
    // inputs made outside, outputs disposed: whatever else stays is the library's leak
    const o = options('validLens1d+causal+maskBool');
    const s = scores();
    await expectNoLeak(() => {
      for (const r of [
        { weights: maskedSoftmax(s, o) },
        attentionPooling(s, x.value, o),
        scaledDotProductAttention(x.query, x.key, x.value, o),
        L.dot.apply(x.query, x.key, x.value, o),
        L.additive.apply(x.query, x.key, x.value, o),
        L.mha.apply(x.query, x.key, x.value, o),
        L.local.apply(x.query, x.key, x.value, o),
      ]) {
        tf.dispose(Object.values(r));
      }
    });
    tf.dispose([s, o.validLens!, o.mask!]);
  });
});

describe('keyPaddingMask', () => {
  it('shapes a key-padding mask for 3-D and for multi-head 4-D scores (hand-computed)', () => {
    const lens = tf.tensor1d([1, 3], 'int32');
    const m3 = keyPaddingMask(lens, 3); // [B, 1, S]
    assert.deepEqual(m3.shape, [2, 1, 3]);
    assert.deepEqual(m3.arraySync(), [[[1, 0, 0]], [[1, 1, 1]]]);
    const m4 = keyPaddingMask(lens, 3, 4); // [B, 1, 1, S]
    assert.deepEqual(m4.shape, [2, 1, 1, 3]);
    assert.deepEqual(m4.arraySync(), [[[[1, 0, 0]]], [[[1, 1, 1]]]]);
    const perQuery = keyPaddingMask(tf.tensor2d([[0, 2]], [1, 2], 'int32'), 2); // [B, T, S]
    assert.deepEqual(perQuery.arraySync(), [
      [
        [0, 0],
        [1, 1],
      ],
    ]);
  });

  it('builds on sequenceMask: real positions of padded sequences [B, L] (hand-computed)', () => {
    assert.deepEqual(sequenceMask(tf.tensor1d([0, 2, 3], 'int32'), 3).arraySync(), [
      [0, 0, 0],
      [1, 1, 0],
      [1, 1, 1],
    ]);
    assert.throws(
      () => sequenceMask(tf.tensor1d([1.5]), 3),
      /sequenceMask: validLens: expected integers in \[0, S\] = \[0, 3\], got 1.5 at index 0/,
    );
  });

  it('names its arguments in errors', () => {
    assert.throws(
      () => keyPaddingMask(tf.tensor1d([4]), 3),
      /keyPaddingMask: validLens: expected integers in \[0, S\] = \[0, 3\], got 4 at index 0/,
    );
    assert.throws(() => keyPaddingMask([1] as never, 3), /validLens: expected a tf.Tensor/);
    assert.throws(
      () => keyPaddingMask(tf.tensor1d([1]), 3, 5),
      /scoresRank: expected 3 or 4, got 5/,
    );
  });
});
