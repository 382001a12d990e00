// Beam search: width 1 is greedy decoding exactly (table decoder, Bahdanau, Luong); on hand-made
// Markov decoders a beam of width 2 escapes greedy's trap, and length normalisation changes the
// choice, with log-probabilities and scores computed by hand; batching over sources; no leaks.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { beamScore, beamSearch, beamStep, lengthPenalty } from '../../src/decode/beam';
import { greedyDecode } from '../../src/decode/greedy';
import type { StepDecoder } from '../../src/decode/step-decoder';
import { markovDecoder, tableDecoder } from '../../src/decode/table-decoder';
import { BahdanauSeq2Seq } from '../../src/models/bahdanau';
import { LuongSeq2Seq } from '../../src/models/luong';
import { expectNoLeak } from '../helpers/tensors';
import { randomSeq2SeqBatch } from '../helpers/seq2seq';

/** bos 0, eos 1. Greedy takes 2 (0.6) and then keeps taking 2 (0.4); `3, eos` has 0.4 * 0.99. */
const TRAP = [
  [0, 0, 0.6, 0.4],
  [0, 1, 0, 0],
  [0, 0.3, 0.4, 0.3],
  [0, 0.99, 0.01, 0],
];
/** bos 0, eos 1. `eos` at once: 0.5 (1 token); `2, 3, eos`: 0.5 * 1 * 0.9 = 0.45 (3 tokens). */
const SHORT_OR_LONG = [
  [0, 0.5, 0.5, 0],
  [0, 1, 0, 0],
  [0, 0, 0, 1],
  [0, 0.9, 0, 0.1],
];
const f32log = (p: number): number => Math.fround(Math.log(p));

describe('beam search (src/decode/beam.ts)', () => {
  it('lengthPenalty and beamScore follow GNMT: ((5 + n) / 6)^alpha', () => {
    assert.equal(lengthPenalty(3, 0), 1);
    assert.ok(Math.abs(lengthPenalty(3, 1) - 8 / 6) < 1e-12);
    assert.ok(Math.abs(lengthPenalty(7, 0.6) - Math.pow(2, 0.6)) < 1e-12);
    assert.ok(Math.abs(beamScore(-2, 7, 1) - -1) < 1e-12);
    assert.throws(() => lengthPenalty(3, -1), /alpha: expected a finite number >= 0, got -1/);
    assert.throws(() => beamScore(0.5, 2, 0), /logProb: expected a log-probability/);
  });

  it('beamStep: ranks by normalised score, retires an eos only in the first k ranks', () => {
    const L = Math.log;
    // two beams of different lengths, alpha = 1; V = 3, eos = 0
    const beams = [
      { tokens: [2], logProb: L(0.5) },
      { tokens: [2, 2], logProb: L(0.4) },
    ];
    const logProbs = [
      [L(0.1), L(0.2), L(0.7)],
      [L(0.6), L(0.3), L(0.1)],
    ];
    const out = beamStep(beams, logProbs, { beamWidth: 2, eos: 0, alpha: 1 });
    // candidates, score = logP / ((5 + n) / 6): [2,2] 0.35 n2; [2,2,0] 0.24 n3; [2,1] 0.1 n2;
    // [2,2,1] 0.12 n3; [2,0] 0.05 n2; [2,2,2] 0.04 n3
    const score = (p: number, n: number) => L(p) / ((5 + n) / 6);
    assert.deepEqual(
      out.finished.map((c) => c.tokens),
      [[2, 2, 0]],
    );
    assert.ok(Math.abs(out.finished[0].score - score(0.24, 3)) < 1e-12);
    assert.deepEqual(
      out.live.map((c) => [c.tokens, c.parent]),
      [
        [[2, 2], 0],
        [[2, 2, 1], 1],
      ],
    );
    assert.ok(Math.abs(out.live[1].logProb - L(0.12)) < 1e-12);
    // with k = 1 the eos ranked second is not retired
    const one = beamStep([{ tokens: [], logProb: 0 }], [[L(0.4), L(0.6)]], {
      beamWidth: 1,
      eos: 0,
    });
    assert.deepEqual(one.finished, []);
    assert.deepEqual(
      one.live.map((c) => c.tokens),
      [[1]],
    );
    assert.throws(
      () => beamStep(beams, logProbs, { beamWidth: 1, eos: 0 }),
      /beams: expected 1 to beamWidth = 1 beams, got 2/,
    );
    assert.throws(
      () => beamStep(beams, [logProbs[0]], { beamWidth: 2, eos: 0 }),
      /logProbs: expected one row per beam \(2\), got 1/,
    );
  });

  it('width 1 equals greedy decoding exactly on the table decoder', async () => {
    const decoder = tableDecoder({ bos: 0, eos: 1 });
    const src = tf.tensor2d(
      [
        [3, 5, 0, 4, 1, 0],
        [1, 2, 3, 3, 3, 3],
        [2, 3, 5, 2, 0, 3], // never ends: 0 -> 2 -> 5 -> 3 -> 2 ...
      ],
      undefined,
      'int32',
    );
    await expectNoLeak(() => {
      const greedy = greedyDecode(decoder, src, { maxLen: 7 });
      const beam = beamSearch(decoder, src, { beamWidth: 1, maxLen: 7 });
      assert.deepEqual(beam.tokens, greedy.tokens);
      assert.deepEqual(beam.tokens, [[3, 4, 1], [1], [2, 5, 3, 2, 5, 3, 2]]);
      assert.deepEqual(beam.finished, greedy.finished);
      beam.logProb.forEach((lp, b) => assert.ok(Math.abs(lp - greedy.logProb[b]) < 1e-6));
    }, 'table decoder');
    src.dispose();
  });

  for (const [name, make] of [
    [
      'BahdanauSeq2Seq',
      () =>
        new BahdanauSeq2Seq({
          srcVocab: 9,
          tgtVocab: 7,
          embedDim: 4,
          encoderHidden: 3,
          decoderHidden: 5,
          attentionHidden: 3,
          bos: 1,
          eos: 2,
          seed: 4,
        }),
    ],
    [
      'LuongSeq2Seq (local-p)',
      () =>
        new LuongSeq2Seq({
          srcVocab: 9,
          tgtVocab: 7,
          embedDim: 4,
          encoderHidden: 3,
          decoderHidden: 6,
          attentionHidden: 3,
          attention: 'local-p',
          window: 2,
          bos: 1,
          eos: 2,
          seed: 4,
        }),
    ],
  ] as const) {
    it(`width 1 equals greedy decoding exactly on ${name} (tokens, weights, log-probabilities)`, async () => {
      const model = make();
      const batch = randomSeq2SeqBatch(9, 7, 5, 6, 2, 8);
      await expectNoLeak(() => {
        const opts = { maxLen: 8, srcValidLens: batch.srcLens };
        const greedy = greedyDecode(model as StepDecoder<unknown>, batch.src, opts);
        const beam = beamSearch(model as StepDecoder<unknown>, batch.src, {
          ...opts,
          beamWidth: 1,
        });
        assert.deepEqual(beam.tokens, greedy.tokens);
        assert.deepEqual(beam.finished, greedy.finished);
        assert.deepEqual(
          beam.nBest.map((h) => h[0].weights),
          greedy.weights,
        );
        beam.logProb.forEach((lp, b) => assert.ok(Math.abs(lp - greedy.logProb[b]) < 1e-5));
      }, name);
      tf.dispose(Object.values(batch));
      model.dispose();
    });
  }

  it("width 2 escapes greedy decoding's trap: the hand-computed best sequence 3, eos (0.396)", async () => {
    const decoder = markovDecoder([TRAP], { bos: 0, eos: 1 });
    const src = tf.tensor2d([[0]], undefined, 'int32');
    await expectNoLeak(() => {
      const greedy = greedyDecode(decoder, src, { maxLen: 4 });
      assert.deepEqual(greedy.tokens, [[2, 2, 2, 2]], 'greedy follows the locally best token');
      const beam = beamSearch(decoder, src, { beamWidth: 2, maxLen: 4 });
      assert.deepEqual(beam.tokens, [[3, 1]]);
      assert.ok(Math.abs(beam.logProb[0] - (f32log(0.4) + f32log(0.99))) < 1e-6);
      assert.equal(beam.finished[0], true);
      // the runner-up: 2, 3, eos = 0.6 * 0.3 * 0.99 (retired at step 3, when 2 have finished)
      assert.deepEqual(
        beam.nBest[0].map((h) => h.tokens),
        [
          [3, 1],
          [2, 3, 1],
        ],
      );
      const second = f32log(0.6) + f32log(0.3) + f32log(0.99);
      assert.ok(Math.abs(beam.nBest[0][1].logProb - second) < 1e-6);
      assert.ok(beam.logProb[0] > greedy.logProb[0]);
    }, 'trap');
    src.dispose();
  });

  it('length normalisation changes the choice: eos (0.5) raw, 2 3 eos (0.45) with alpha = 1', async () => {
    const decoder = markovDecoder([SHORT_OR_LONG], { bos: 0, eos: 1 });
    const src = tf.tensor2d([[0]], undefined, 'int32');
    await expectNoLeak(() => {
      const raw = beamSearch(decoder, src, { beamWidth: 2, maxLen: 5 });
      assert.deepEqual(raw.tokens, [[1]]);
      assert.ok(Math.abs(raw.score[0] - f32log(0.5)) < 1e-6);
      const norm = beamSearch(decoder, src, { beamWidth: 2, maxLen: 5, lengthPenalty: 1 });
      assert.deepEqual(norm.tokens, [[2, 3, 1]]);
      const logP = f32log(0.5) + f32log(1) + f32log(0.9);
      assert.ok(Math.abs(norm.logProb[0] - logP) < 1e-6);
      assert.ok(Math.abs(norm.score[0] - logP / (8 / 6)) < 1e-6, `score ${norm.score[0]}`);
      // short one: -0.693 / 1 < -0.799 / (8/6) = -0.599
      assert.ok(Math.abs(norm.nBest[0][1].score - f32log(0.5)) < 1e-6);
    }, 'length normalisation');
    src.dispose();
  });

  it('decodes a batch of sources as each alone (beams of one source never mix with another)', async () => {
    const decoder = markovDecoder([TRAP, SHORT_OR_LONG], { bos: 0, eos: 1 });
    const src = tf.tensor2d([[1], [0], [1]], undefined, 'int32');
    await expectNoLeak(() => {
      const out = beamSearch(decoder, src, { beamWidth: 3, maxLen: 5, lengthPenalty: 1 });
      for (const [b, which] of [
        [0, 1],
        [1, 0],
        [2, 1],
      ]) {
        const alone = tf.tensor2d([[which]], undefined, 'int32');
        const one = beamSearch(decoder, alone, { beamWidth: 3, maxLen: 5, lengthPenalty: 1 });
        alone.dispose();
        assert.deepEqual(out.nBest[b], one.nBest[0], `source ${b}`);
      }
    }, 'batch');
    src.dispose();
  });

  it('checks its options and leaves nothing behind when the decoder throws', async () => {
    const decoder = markovDecoder([TRAP], { bos: 0, eos: 1 });
    const src = tf.tensor2d([[0]], undefined, 'int32');
    assert.throws(() => beamSearch(decoder, src, { beamWidth: 0, maxLen: 3 }), /beamWidth/);
    assert.throws(() => beamSearch(decoder, src, { beamWidth: 2, maxLen: 0 }), /maxLen/);
    assert.throws(
      () => beamSearch(decoder, src, { beamWidth: 2, maxLen: 3, lengthPenalty: -0.5 }),
      /alpha: expected a finite number >= 0, got -0.5/,
    );
    assert.throws(
      () => beamSearch(markovDecoder([TRAP]), src, { beamWidth: 2, maxLen: 3 }),
      /bos: expected a token id in the options or on the decoder/,
    );
    let calls = 0;
    const failing: StepDecoder<unknown> = {
      bos: 0,
      eos: 1,
      start: (s) => decoder.start(s),
      step: (prev, state) => {
        if (++calls === 2) throw new Error('boom at step 2');
        return decoder.step(prev, state as never);
      },
    };
    await expectNoLeak(() => {
      assert.throws(() => beamSearch(failing, src, { beamWidth: 2, maxLen: 4 }), /boom at step 2/);
    }, 'throwing decoder');
    src.dispose();
  });
});
