// Chapter 04's LuongSeq2Seq: step-wise decoding equals the teacher-forced pass for every variant,
// padding and the outside of a local window get exactly zero weight, the weights depend on the
// encoder states, and the config is checked. PyTorch values are in luong-torch.test.ts.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Seq2SeqBatch } from '../../src/data/batches';
import { greedyDecode } from '../../src/decode/greedy';
import { LuongSeq2Seq, type LuongConfig } from '../../src/models/luong';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';
import { randomSeq2SeqBatch, stepwise } from '../helpers/seq2seq';

const TINY: LuongConfig = {
  srcVocab: 9,
  tgtVocab: 7,
  embedDim: 4,
  encoderHidden: 3,
  decoderHidden: 6,
  attentionHidden: 3,
  window: 1,
  bos: 1,
  eos: 2,
  seed: 5,
};

const VARIANTS: Partial<LuongConfig>[] = [
  { score: 'dot' },
  { score: 'general' },
  { score: 'concat' },
  { score: 'general', inputFeeding: false },
  { score: 'dot', attention: 'local-m' },
  { score: 'general', attention: 'local-p' },
  { score: 'concat', attention: 'local-p', inputFeeding: false },
];

const label = (v: Partial<LuongConfig>): string =>
  `${v.attention ?? 'global'}/${v.score}${v.inputFeeding === false ? ' (no input feeding)' : ''}`;

describe('LuongSeq2Seq (Luong et al., 2015)', () => {
  let batch: Seq2SeqBatch;
  before(() => {
    // 9 source positions, window 1: local windows are much narrower than the sources
    batch = randomSeq2SeqBatch(TINY.srcVocab, TINY.tgtVocab, 4, 9, 6, 21);
  });
  after(() => tf.dispose(Object.values(batch)));

  for (const variant of VARIANTS) {
    it(`${label(variant)}: step-wise decoding equals the teacher-forced pass; padding gets 0`, async () => {
      const model = new LuongSeq2Seq({ ...TINY, ...variant });
      await expectNoLeak(() => {
        const forced = model.forward(batch.src, batch.srcLens, batch.tgtIn);
        const steps = stepwise(model, batch);
        expectTensorsClose(steps.logits, forced.logits, { atol: 1e-5, label: 'logits' });
        expectTensorsClose(steps.weights!, forced.weights, { atol: 1e-5, label: 'weights' });
        const w = forced.weights.arraySync();
        const lens = batch.srcLens.arraySync();
        const positions = forced.positions?.arraySync();
        assert.equal(positions === undefined, (variant.attention ?? 'global') === 'global');
        w.forEach((rows, b) =>
          rows.forEach((row, t) => {
            for (let s = lens[b]; s < row.length; s++) {
              assert.equal(row[s], 0, `padding weight at b=${b} t=${t} s=${s}`);
            }
            const sum = row.reduce((a, x) => a + x, 0);
            if (variant.attention === 'local-p') {
              assert.ok(sum > 0 && sum <= 1 + 1e-6, `local-p row sums to ${sum} (in (0, 1])`);
            } else assert.ok(Math.abs(sum - 1) < 1e-5, `row b=${b} t=${t} sums to ${sum}`);
            if (positions) {
              const p = positions[b][t];
              const d = TINY.window!;
              if (variant.attention === 'local-m') {
                assert.equal(p, Math.min(t, lens[b] - 1), 'local-m centre min(t, L - 1)');
              } else assert.ok(p > 0 && p < lens[b], `local-p centre ${p} in (0, L = ${lens[b]})`);
              let inside = 0;
              row.forEach((x, s) => {
                if (Math.abs(s - p) > d) assert.equal(x, 0, `outside the window at s=${s}, p=${p}`);
                else if (s < lens[b]) inside++;
              });
              assert.ok(inside >= 1, 'the window holds a real position');
            }
          }),
        );
        tf.dispose([forced.logits, forced.weights, steps.logits, steps.weights!]);
        if (forced.positions) forced.positions.dispose();
      }, label(variant));
      model.dispose();
    });
  }

  it('local-p follows the paper: Gaussian of sigma = D/2 around p_t = L sigmoid(v_p^T tanh(W_p h_t))', async () => {
    // Make align uniform (all scores equal: zero W_a) and check a_t(s) = exp(-(s-p)^2/(2 sigma^2)) / n,
    // n the number of real positions in the window, from the model's own p_t.
    const model = new LuongSeq2Seq({ ...TINY, score: 'general', attention: 'local-p', window: 2 });
    const wA = (model.attention as { wA: { weight: tf.Variable } }).wA.weight;
    tf.tidy(() => wA.assign(tf.zerosLike(wA)));
    await expectNoLeak(() => {
      const out = model.forward(batch.src, batch.srcLens, batch.tgtIn);
      const w = out.weights.arraySync();
      const p = out.positions!.arraySync();
      const lens = batch.srcLens.arraySync();
      const sigma = 1;
      w.forEach((rows, b) =>
        rows.forEach((row, t) => {
          const inWin = row.map((_, s) => Math.abs(s - p[b][t]) <= 2 && s < lens[b]);
          const n = inWin.filter(Boolean).length;
          row.forEach((x, s) => {
            const want = inWin[s] ? Math.exp(-((s - p[b][t]) ** 2) / (2 * sigma * sigma)) / n : 0;
            assert.ok(Math.abs(x - want) < 1e-5, `b=${b} t=${t} s=${s}: ${x} vs ${want}`);
          });
        }),
      );
      tf.dispose([out.logits, out.weights, out.positions!]);
    }, 'local-p Gaussian');
    model.dispose();
  });

  it('perturbing one encoder state changes the weights (global/general)', async () => {
    const model = new LuongSeq2Seq({ ...TINY, score: 'general' });
    await expectNoLeak(() => {
      tf.tidy(() => {
        const base = model.start(batch.src, batch.srcLens);
        const prev = tf.fill([4], 1, 'int32') as tf.Tensor1D;
        const a = model.step(prev, base).weights!.arraySync();
        // add 1 to the encoder state at source position 0 of example 0 only
        const bump = tf.scatterND([[0, 0]], tf.ones([1, 6]), [4, 9, 6]);
        const memory = tf.add(base.memory, bump) as tf.Tensor3D;
        const b = model.step(prev, { ...base, memory, keys: memory }).weights!.arraySync();
        assert.ok(
          Math.abs(a[0][0] - b[0][0]) > 1e-4,
          `weight at the bumped position: ${a[0][0]} vs ${b[0][0]}`,
        );
        assert.deepEqual(a[1], b[1], 'the other examples do not move');
      });
    }, 'perturbation');
    model.dispose();
  });

  it('greedy decoding runs on it and the default is global/general with input feeding', async () => {
    const model = new LuongSeq2Seq({ ...TINY });
    assert.equal(model.config.score, 'general');
    assert.equal(model.config.attention, 'global');
    assert.equal(model.config.inputFeeding, true);
    assert.equal(model.cell.inputSize, TINY.embedDim! + TINY.decoderHidden!);
    await expectNoLeak(() => {
      const out = greedyDecode(model, batch.src, { maxLen: 5, srcValidLens: batch.srcLens });
      assert.equal(out.tokens.length, 4);
      assert.ok(out.weights && out.weights[0][0].length === 9);
    }, 'greedy');
    const names = new LuongSeq2Seq({ ...TINY, attention: 'local-p', score: 'concat' })
      .namedVariables()
      .map(([n]) => n);
    for (const n of ['attention.wA.weight', 'attention.v', 'wP.weight', 'vP', 'combine.weight']) {
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    }
    model.dispose();
  });

  it('checks its config and inputs, naming the field', () => {
    assert.throws(
      () => new LuongSeq2Seq({ ...TINY, score: 'dot', decoderHidden: 5 }),
      /decoderHidden.*2 \* encoderHidden = 6.*got 5/,
    );
    assert.throws(
      () => new LuongSeq2Seq({ ...TINY, score: 'bilinear' as 'dot' }),
      /score: expected 'dot', 'general' or 'concat', got bilinear/,
    );
    assert.throws(
      () => new LuongSeq2Seq({ ...TINY, attention: 'local' as 'local-m' }),
      /attention: expected/,
    );
    assert.throws(() => new LuongSeq2Seq({ ...TINY, window: 0 }), /window/);
    assert.throws(
      () => new LuongSeq2Seq({ ...TINY, inputFeeding: 'yes' as unknown as boolean }),
      /inputFeeding/,
    );
    const model = new LuongSeq2Seq(TINY);
    const bad = tf.tensor2d([[1, 9]], undefined, 'int32');
    assert.throws(() => model.start(bad), /src: expected token ids in \[0, V\) = \[0, 9\), got 9/);
    const state = model.start(batch.src, batch.srcLens);
    const prev = tf.tensor1d([1, 1, 1], 'int32');
    assert.throws(() => model.step(prev, state), /state\.h: expected shape \[3, 6\]/);
    tf.dispose([bad, prev, ...Object.values(state)]);
    model.dispose();
  });
});
