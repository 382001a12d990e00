import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { greedyDecode } from '../../src/decode/greedy';
import { decodeStep, disposeState, startDecoding } from '../../src/decode/step-decoder';
import { createRng } from '../../src/core/random';
import { BahdanauSeq2Seq, type BahdanauState } from '../../src/models/bahdanau';
import { BaselineSeq2Seq } from '../../src/models/baseline';
import type { Seq2SeqBatch } from '../../src/data/batches';
import { BiGRUEncoder, type Seq2SeqConfig } from '../../src/models/encoder';
import { fit, tensorDataset } from '../../src/train/fit';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';
import { randomSeq2SeqBatch, stepwise } from '../helpers/seq2seq';

const BOS = 1;
const EOS = 2;
/** Tiny sizes: every test runs in well under a second, except the overfit one. */
const TINY: Seq2SeqConfig = {
  srcVocab: 9,
  tgtVocab: 7,
  embedDim: 4,
  encoderHidden: 5,
  decoderHidden: 6,
  attentionHidden: 3,
  bos: BOS,
  eos: EOS,
  seed: 3,
};

function randomBatch(rows: number, srcLen: number, tgtLen: number, seed: number): Seq2SeqBatch {
  return randomSeq2SeqBatch(TINY.srcVocab, TINY.tgtVocab, rows, srcLen, tgtLen, seed);
}

describe('the chapter 03 encoder-decoders (Bahdanau attention and the Cho et al. baseline)', () => {
  let batch: Seq2SeqBatch;
  let model: BahdanauSeq2Seq;
  let baseline: BaselineSeq2Seq;
  before(() => {
    batch = randomBatch(4, 6, 5, 11);
    model = new BahdanauSeq2Seq(TINY);
    baseline = new BaselineSeq2Seq(TINY);
  });
  after(() => {
    tf.dispose(Object.values(batch));
    model.dispose();
    baseline.dispose();
  });

  it('decoding step by step equals the teacher-forced pass (logits and weights, to 1e-5)', async () => {
    await expectNoLeak(() => {
      const forced = model.forward(batch.src, batch.srcLens, batch.tgtIn);
      const steps = stepwise(model, batch);
      expectTensorsClose(steps.logits, forced.logits, { atol: 1e-5, label: 'logits' });
      expectTensorsClose(steps.weights!, forced.weights!, { atol: 1e-5, label: 'weights' });
      const base = baseline.forward(batch.src, batch.srcLens, batch.tgtIn);
      const baseSteps = stepwise(baseline, batch);
      assert.equal(baseSteps.weights, null);
      expectTensorsClose(baseSteps.logits, base.logits, { atol: 1e-5, label: 'baseline logits' });
      tf.dispose([forced.logits, forced.weights!, steps.logits, steps.weights!]);
      tf.dispose([base.logits, baseSteps.logits]);
    }, 'forward and step-wise decoding');
  });

  it('gives padding positions exactly zero weight, rows summing to 1, and ignores padded tokens', async () => {
    await expectNoLeak(() => {
      const forced = model.forward(batch.src, batch.srcLens, batch.tgtIn);
      const w = forced.weights!.arraySync(); // [B, T, S]
      const lens = batch.srcLens.arraySync();
      let padded = 0;
      w.forEach((rows, b) =>
        rows.forEach((row) => {
          row.forEach((x, j) => {
            if (j >= lens[b]) {
              assert.equal(x, 0, `weight of padded position ${j} in row ${b}`);
              padded++;
            } else assert.ok(x > 0, `weight of real position ${j} in row ${b}: ${x}`);
          });
          const sum = row.reduce((a, x) => a + x, 0);
          assert.ok(Math.abs(sum - 1) < 1e-5, `row ${b} sums to ${sum}`);
        }),
      );
      assert.ok(padded > 0, 'the test batch must contain padding');
      // other tokens at the padded positions: nothing changes
      const srcRows = batch.src.arraySync();
      const other = srcRows.map((row, b) => row.map((id, j) => (j >= lens[b] ? 8 : id)));
      const src2 = tf.tensor2d(other, undefined, 'int32');
      const again = model.forward(src2, batch.srcLens, batch.tgtIn);
      expectTensorsClose(again.logits, forced.logits, { atol: 1e-6, label: 'logits' });
      tf.dispose([forced.logits, forced.weights!, again.logits, again.weights!, src2]);
    }, 'padding');
  });

  it('computes the weights from the encoder states: perturbing one state changes them', async () => {
    await expectNoLeak(() => {
      const prev = tf.tensor1d([BOS, BOS, BOS, BOS], 'int32');
      const state = startDecoding(model, batch.src, batch.srcLens);
      // perturb the annotation h_2 of example 0 only, and its U_a h_2 with it
      const delta = tf.tidy(() => {
        const d = tf.buffer([4, 6, 2 * TINY.encoderHidden!], 'float32');
        for (let k = 0; k < 2 * TINY.encoderHidden!; k++) d.set(k % 2 === 0 ? 0.7 : -0.5, 0, 2, k);
        return d.toTensor();
      });
      const memory = tf.add(state.memory, delta) as tf.Tensor3D;
      const keys = model.attention.wK.apply(memory) as tf.Tensor3D;
      const perturbed: BahdanauState = { ...state, memory, keys };
      const a = decodeStep(model, prev, state);
      const b = decodeStep(model, prev, perturbed);
      const wa = a.weights!.arraySync();
      const wb = b.weights!.arraySync();
      const change = Math.max(...wa[0].map((x, j) => Math.abs(x - wb[0][j])));
      assert.ok(change > 1e-4, `example 0's weights changed by only ${change}`);
      assert.deepEqual(wb.slice(1), wa.slice(1), 'the other examples must not change');
      // and the source itself: a different last token of example 0 changes its weights
      const src = batch.src.arraySync();
      src[0][5] = src[0][5] === 3 ? 4 : 3;
      const src2 = tf.tensor2d(src, undefined, 'int32');
      const state2 = startDecoding(model, src2, batch.srcLens);
      const c = decodeStep(model, prev, state2);
      const wc = c.weights!.arraySync();
      const change2 = Math.max(...wa[0].map((x, j) => Math.abs(x - wc[0][j])));
      assert.ok(change2 > 1e-4, `a new source token changed the weights by only ${change2}`);
      for (const out of [a, b, c]) {
        disposeState(out.state);
        tf.dispose([out.logits, out.weights!]);
      }
      disposeState(state);
      disposeState(state2);
      tf.dispose([prev, delta, memory, keys, src2]);
    }, 'perturbation');
  });

  it("keeps the baseline's decoder away from individual encoder states", async () => {
    await expectNoLeak(() => {
      // Its state holds no per-position tensor: the same shapes for a source of 3 or of 9.
      for (const srcLen of [3, 9]) {
        const b = randomBatch(2, srcLen, 4, srcLen);
        const state = startDecoding(baseline, b.src, b.srcLens);
        const shapes = Object.entries(state).map(([k, t]) => `${k} ${t.shape.join('x')}`);
        assert.deepEqual(shapes, ['s 2x6', 'summary 2x10']);
        // and its step reads only that state: the same summary gives the same logits
        const prev = tf.tensor1d([BOS, 5], 'int32');
        const fromState = decodeStep(baseline, prev, state);
        const copy = { s: state.s.clone(), summary: state.summary.clone() };
        const fromCopy = decodeStep(baseline, prev, copy);
        expectTensorsClose(fromCopy.logits, fromState.logits, { atol: 0 });
        assert.equal(fromState.weights, undefined);
        disposeState([state, copy, fromState.state, fromCopy.state]);
        tf.dispose([prev, fromState.logits, fromCopy.logits, ...Object.values(b)]);
      }
    }, 'baseline state');
  });

  it('sends a nonzero gradient to every variable of both models', async () => {
    for (const m of [model, baseline]) {
      await expectNoLeak(() => {
        const named = m.namedVariables();
        const vars = named.map(([, v]) => v);
        const { value, grads } = tf.variableGrads(() => m.loss(batch), vars);
        assert.ok(Number.isFinite(value.dataSync()[0]));
        for (const [name, v] of named) {
          const g = grads[v.name];
          assert.ok(g, `${m.constructor.name}: no gradient for ${name}`);
          const max = tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]);
          assert.ok(max > 0, `${m.constructor.name}: zero gradient for ${name}`);
        }
        tf.dispose([value, ...Object.values(grads)]);
      }, `${m.constructor.name} gradients`);
    }
    const names = model.namedVariables().map(([n]) => n);
    for (const n of ['encoder.rnn.forward.wX', 'attention.v', 'attention.wK.weight', 'init.weight'])
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  });

  it('has the same sizes in both models except the attention, and the documented defaults', () => {
    const attention = model.attention.numParameters();
    // the baseline's W_s reads the 2 Denc summary, the attention model's only h_1^<
    const initDiff = 2 * 5 * 6 - 5 * 6;
    assert.equal(baseline.numParameters(), model.numParameters() - attention + initDiff);
    const big = new BahdanauSeq2Seq({ srcVocab: 40, tgtVocab: 14 });
    assert.deepEqual(
      [big.config.embedDim, big.config.encoderHidden, big.config.decoderHidden],
      [32, 64, 128],
    );
    assert.equal(big.config.attentionHidden, 64);
    assert.equal(big.cell.inputSize, 32 + 128);
    assert.equal(big.out.inFeatures, 128 + 128);
    big.dispose();
  });

  it('decodes greedily with each step’s attention weights and leaks nothing', async () => {
    const out = await expectNoLeak(
      () => greedyDecode(model, batch.src, { maxLen: 4, srcValidLens: batch.srcLens }),
      'greedyDecode',
    );
    assert.equal(out.weights!.length, 4);
    out.tokens.forEach((toks, b) => assert.equal(out.weights![b].length, toks.length));
    assert.equal(out.weights![1][0].length, 6);
  });

  it('names the config field, the argument and the batch entry that are wrong', () => {
    const bad = (patch: Partial<Seq2SeqConfig>, re: RegExp): void =>
      assert.throws(() => new BahdanauSeq2Seq({ ...TINY, ...patch }), re);
    bad({ srcVocab: 0 }, /srcVocab: expected an integer >= 1, got number 0/);
    bad({ decoderHidden: 2.5 }, /decoderHidden: expected an integer >= 1, got number 2\.5/);
    bad({ attentionHidden: -1 }, /attentionHidden/);
    bad({ eos: 7 }, /eos: expected an integer in \[0, 6\], got number 7/);
    assert.throws(() => new BaselineSeq2Seq({ ...TINY, embedDim: 0 }), /embedDim/);
    assert.throws(() => new BiGRUEncoder({ vocabSize: 5, hiddenSize: 0 }), /hiddenSize/);
    assert.throws(
      () => new BahdanauSeq2Seq(null as unknown as Seq2SeqConfig),
      /BahdanauSeq2Seq config: expected \{ srcVocab, tgtVocab/,
    );
    const floatIn = tf.tidy(() => batch.tgtIn.toFloat()) as tf.Tensor2D;
    assert.throws(
      () => model.loss({ ...batch, tgtIn: floatIn }),
      /BahdanauSeq2Seq\.loss: tgtIn: expected dtype int32/,
    );
    floatIn.dispose();
    const tooLong = tf.tensor1d([7, 1, 1, 1], 'int32');
    assert.throws(
      () => model.start(batch.src, tooLong),
      /BahdanauSeq2Seq\.start: srcLens: expected lengths in \[1, 6\], got 7 at index 0/,
    );
    tooLong.dispose();
    const outOfVocab = tf.tensor1d([1, 1, 1, 7], 'int32');
    const state = model.start(batch.src, batch.srcLens);
    assert.throws(
      () => model.step(outOfVocab, state),
      /BahdanauSeq2Seq\.step: prev: expected token ids in \[0, V\) = \[0, 7\), got 7 at flat index 3/,
    );
    assert.throws(
      () => model.step(tf.tensor1d([1, 1], 'int32'), state),
      /BahdanauSeq2Seq\.step: state\.s: expected shape/,
    );
    disposeState(state);
    outOfVocab.dispose();
  });

  it('overfits a handful of reversed sequences with fit() and stops on the target', async function () {
    this.timeout(30000);
    // Task: reverse the source. 8 examples; exact match of greedy decoding must reach 100%.
    const rng = createRng(5);
    const n = 8;
    const srcLen = 4;
    const src: number[][] = [];
    const tgtIn: number[][] = [];
    const tgtOut: number[][] = [];
    for (let i = 0; i < n; i++) {
      const xs = Array.from({ length: srcLen }, () => rng.int(3, 7));
      const ys = [...xs].reverse();
      src.push(xs);
      tgtOut.push([...ys, EOS]);
      tgtIn.push([BOS, ...ys]);
    }
    const tensors = {
      src: tf.tensor2d(src, undefined, 'int32'),
      srcLens: tf.fill([n], srcLen, 'int32'),
      tgtIn: tf.tensor2d(tgtIn, undefined, 'int32'),
      tgtOut: tf.tensor2d(tgtOut, undefined, 'int32'),
      tgtLens: tf.fill([n], srcLen + 1, 'int32'),
    } as Seq2SeqBatch;
    const tiny = new BahdanauSeq2Seq({
      srcVocab: 7,
      tgtVocab: 7,
      embedDim: 8,
      encoderHidden: 16,
      decoderHidden: 24,
      attentionHidden: 12,
      bos: BOS,
      eos: EOS,
      seed: 1,
    });
    const exact = (m: BahdanauSeq2Seq): number => {
      const out = greedyDecode(m, tensors.src, { maxLen: srcLen + 1 });
      return out.tokens.filter((t, i) => t.join() === tgtOut[i].join()).length / n;
    };
    const before = tf.memory().numTensors;
    const run = await fit({
      model: tiny,
      loss: (b, m) => m.loss(b as Seq2SeqBatch),
      data: tensorDataset(tensors),
      batchSize: n,
      steps: 400,
      lr: 0.02,
      evalEvery: 20,
      logEvery: 20,
      metrics: { exact: (m) => exact(m) },
      target: { metric: 'exact', value: 1 },
      progress: false,
      seed: 1,
    });
    assert.equal(tf.memory().numTensors, before, 'fit leaked tensors');
    assert.equal(run.stoppedBy, 'target', `stopped by ${run.stoppedBy} at ${run.metrics.exact}`);
    assert.equal(exact(tiny), 1);
    tiny.dispose();
    tf.dispose(Object.values(tensors));
  });
});
