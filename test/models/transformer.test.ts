// The Transformer's properties: causality (perturbation), padding gets zero weight, step-wise
// decoding with the K/V cache equals the teacher-forced pass and full recomputation, no leaks,
// errors that name the argument. Tiny sizes: the whole file runs in a few seconds.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { greedyDecode } from '../../src/decode/greedy';
import {
  decodeStep,
  disposeState,
  gatherState,
  startDecoding,
} from '../../src/decode/step-decoder';
import { createRng } from '../../src/core/random';
import { DecoderBlock, EncoderBlock } from '../../src/models/transformer-blocks';
import {
  TransformerSeq2Seq,
  decodingSpeed,
  recomputingDecoder,
  type TransformerConfig,
} from '../../src/models/transformer';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

const BOS = 1;
const EOS = 2;
const TINY: TransformerConfig = {
  srcVocab: 9,
  tgtVocab: 7,
  dModel: 8,
  numHeads: 2,
  encoderLayers: 2,
  dHidden: 12,
  maxLen: 16,
  bos: BOS,
  eos: EOS,
  seed: 4,
};

function ids(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, undefined, 'int32');
}

function randomIds(rows: number, len: number, vocab: number, seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: len }, () => rng.int(3, vocab)));
}

/** Row `b`, positions `[0, upTo)` of a `[B, T, ...]` tensor, as nested arrays. */
function head(x: tf.Tensor, b: number, upTo: number): unknown {
  return tf.tidy(() => {
    const begin = x.shape.map((_, i) => (i === 0 ? b : 0));
    const size = x.shape.map((d, i) => (i === 0 ? 1 : i === 1 ? upTo : d));
    return x.slice(begin, size).arraySync();
  });
}

describe('Transformer blocks and model: properties', () => {
  const src = ids([
    [3, 4, 5, 6, 0],
    [7, 8, 0, 0, 0],
  ]);
  const srcLens = tf.tensor1d([4, 2], 'int32');
  after(() => tf.dispose([src, srcLens]));

  for (const norm of ['post', 'pre'] as const) {
    describe(`${norm}-norm`, () => {
      const model = new TransformerSeq2Seq({ ...TINY, norm });
      after(() => model.dispose());

      it('position t of the decoder never sees t + 1 (perturbing later inputs changes no earlier logit)', () => {
        const tgt = randomIds(2, 5, TINY.tgtVocab, 1);
        const a = model.forward(src, srcLens, ids(tgt));
        for (let t = 0; t < 4; t++) {
          const changed = tgt.map((row) => row.map((v, j) => (j > t ? 3 + ((v - 2) % 4) : v)));
          const b = model.forward(src, srcLens, ids(changed));
          for (let r = 0; r < 2; r++) {
            assert.deepEqual(head(b.logits, r, t + 1), head(a.logits, r, t + 1), `t = ${t}`);
          }
          // ...and it is not vacuous: the perturbed position's own logits moved
          const moved = tf.tidy(
            () =>
              tf
                .sub(a.logits, b.logits)
                .slice([0, t + 1, 0], [-1, 1, -1])
                .abs()
                .max()
                .dataSync()[0],
          );
          assert.ok(moved > 1e-4, `logits at ${t + 1} should change, moved ${moved}`);
          tf.dispose(b as unknown as tf.TensorContainer);
        }
        tf.dispose(a as unknown as tf.TensorContainer);
      });

      it('padding keys get exactly zero weight, and padding tokens change nothing', () => {
        const tgtIn = ids(randomIds(2, 4, TINY.tgtVocab, 2));
        const tgtLens = tf.tensor1d([4, 3], 'int32');
        const out = model.forward(src, srcLens, tgtIn, tgtLens);
        const lens = [4, 2];
        for (const w of out.encoderSelf) {
          const a = w.arraySync() as number[][][][]; // [B, H, S, S]
          a.forEach((rows, b) =>
            rows.forEach((h) =>
              h.forEach((row) =>
                row.forEach((v, s) => {
                  if (s >= lens[b]) assert.equal(v, 0);
                }),
              ),
            ),
          );
        }
        for (const w of out.cross) {
          const a = w.arraySync() as number[][][][]; // [B, H, T, S]
          a.forEach((rows, b) =>
            rows.forEach((h) =>
              h.forEach((row) => {
                row.forEach((v, s) => {
                  if (s >= lens[b]) assert.equal(v, 0);
                });
                assert.ok(Math.abs(row.reduce((x, y) => x + y) - 1) < 1e-5);
              }),
            ),
          );
        }
        for (const w of out.decoderSelf) {
          const a = w.arraySync() as number[][][][]; // [B, H, T, T]
          a.forEach((rows, b) =>
            rows.forEach((h) =>
              h.forEach((row, t) =>
                row.forEach((v, s) => {
                  if (s > t || s >= [4, 3][b]) assert.equal(v, 0, `b ${b} t ${t} s ${s}`);
                }),
              ),
            ),
          );
        }
        // other tokens in the source's padding: the same logits
        const src2 = ids([
          [3, 4, 5, 6, 8],
          [7, 8, 5, 6, 3],
        ]);
        const out2 = model.forward(src2, srcLens, tgtIn, tgtLens);
        expectTensorsClose(out2.logits, out.logits, { atol: 1e-6, label: 'logits' });
        tf.dispose([out, out2, tgtIn, tgtLens, src2] as unknown as tf.TensorContainer);
      });

      it('step-wise decoding with the cache equals the teacher-forced pass (1e-5)', async () => {
        const tgt = randomIds(2, 5, TINY.tgtVocab, 3).map((r) => [BOS, ...r.slice(1)]);
        const tgtIn = ids(tgt);
        const full = model.forward(src, srcLens, tgtIn);
        await expectNoLeak(() => {
          let state = startDecoding(model, src, srcLens);
          for (let t = 0; t < 5; t++) {
            const prev = tf.tensor1d(
              tgt.map((r) => r[t]!),
              'int32',
            );
            const step = decodeStep(model, prev, state);
            const want = tf.tidy(() => full.logits.slice([0, t, 0], [-1, 1, -1]).squeeze([1]));
            expectTensorsClose(step.logits, want, { atol: 1e-5, rtol: 1e-5, label: `step ${t}` });
            const wantW = tf.tidy(() => full.weights.slice([0, t, 0], [-1, 1, -1]).squeeze([1]));
            expectTensorsClose(step.weights!, wantW, { atol: 1e-5, label: `weights ${t}` });
            disposeState(state);
            tf.dispose([prev, want, wantW, step.logits, step.weights!]);
            state = step.state;
          }
          disposeState(state);
        }, 'step-wise decoding');
        tf.dispose([tgtIn, full] as unknown as tf.TensorContainer);
      });

      it('the cached decoder equals full recomputation, step by step and in greedy decoding', async () => {
        const slow = recomputingDecoder(model);
        await expectNoLeak(() => {
          let a = startDecoding(model, src, srcLens);
          let b = startDecoding(slow, src, srcLens);
          let prev = tf.tensor1d([BOS, BOS], 'int32');
          for (let t = 0; t < 6; t++) {
            const sa = decodeStep(model, prev, a);
            const sb = decodeStep(slow, prev, b);
            expectTensorsClose(sa.logits, sb.logits, {
              atol: 1e-5,
              rtol: 1e-5,
              label: `step ${t}`,
            });
            disposeState([a, b]);
            a = sa.state;
            b = sb.state;
            prev.dispose();
            prev = tf.tidy(() => tf.argMax(sa.logits, 1).toInt()) as tf.Tensor1D;
            tf.dispose([sa.logits, sa.weights!, sb.logits, sb.weights!]);
          }
          prev.dispose();
          disposeState([a, b]);
        }, 'cache vs recompute');
        const fast = greedyDecode(model, src, { maxLen: 8, srcValidLens: srcLens });
        const ref = greedyDecode(slow, src, { maxLen: 8, srcValidLens: srcLens });
        assert.deepEqual(fast.tokens, ref.tokens);
      });

      it('the cache can be reordered like any state (beam search) and matches the gathered rows', () => {
        const state = startDecoding(model, src, srcLens);
        const prev = tf.tensor1d([BOS, BOS], 'int32');
        const s1 = decodeStep(model, prev, state);
        const rows = tf.tensor1d([1, 1, 0], 'int32');
        const gathered = gatherState(s1.state, rows);
        const next = tf.tensor1d([4, 4, 5], 'int32');
        const s2 = decodeStep(model, next, gathered);
        // reference: decode the three rows from scratch
        const src3 = tf.gather(src, rows) as tf.Tensor2D;
        const lens3 = tf.gather(srcLens, rows) as tf.Tensor1D;
        const full = model.forward(
          src3,
          lens3,
          ids([
            [BOS, 4],
            [BOS, 4],
            [BOS, 5],
          ]),
        );
        const want = tf.tidy(() => full.logits.slice([0, 1, 0], [-1, 1, -1]).squeeze([1]));
        expectTensorsClose(s2.logits, want, { atol: 1e-5, rtol: 1e-5, label: 'after gather' });
        disposeState([state, s1, gathered, s2]);
        tf.dispose([prev, rows, next, src3, lens3, want, full] as unknown as tf.TensorContainer);
      });
    });
  }

  it('DecoderBlock.step on a chunk of new positions equals apply on the whole prefix', () => {
    for (const norm of ['post', 'pre'] as const) {
      const block = new DecoderBlock({ dModel: 8, numHeads: 2, dHidden: 8, norm, seed: 2 });
      const x = tf.randomNormal([2, 5, 8], 0, 1, 'float32', 7);
      const memory = tf.randomNormal([2, 4, 8], 0, 1, 'float32', 8);
      const memOpts = { validLens: tf.tensor1d([4, 3], 'int32') };
      const full = block.apply(x, memory, { self: { causal: true }, memory: memOpts });
      const c0 = block.startCache(memory);
      const r1 = block.step(x.slice([0, 0, 0], [-1, 2, -1]), c0, memOpts);
      const r2 = block.step(x.slice([0, 2, 0], [-1, 3, -1]), r1.cache, memOpts);
      const got = tf.concat([r1.output, r2.output], 1);
      expectTensorsClose(got, full.output, { atol: 1e-5, rtol: 1e-5, label: norm });
      assert.deepEqual(r2.cache.selfK.shape, [2, 2, 5, 4]);
      tf.dispose([
        x,
        memory,
        memOpts.validLens,
        got,
        full,
        c0,
        r1,
        r2,
      ] as unknown as tf.TensorContainer);
      block.dispose();
    }
  });

  it('a training step leaks nothing, and the gradient reaches every weight', async () => {
    const model = new TransformerSeq2Seq({ ...TINY, dropout: 0.1, labelSmoothing: 0.1 });
    const batch = {
      src,
      srcLens,
      tgtIn: ids([
        [BOS, 3, 4],
        [BOS, 5, 0],
      ]),
      tgtOut: ids([
        [3, 4, EOS],
        [5, EOS, 0],
      ]),
      tgtLens: tf.tensor1d([3, 2], 'int32'),
    };
    await expectNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(batch), model.variables());
      assert.ok(Number.isFinite(value.dataSync()[0]));
      for (const [name, v] of model.namedVariables()) {
        const g = grads[v.name];
        assert.ok(g, `no gradient for ${name}`);
        const norm = tf.tidy(() => tf.norm(g).dataSync()[0]);
        assert.ok(norm > 0, `zero gradient for ${name}`);
      }
      tf.dispose([value, ...Object.values(grads)]);
    }, 'training step');
    tf.dispose([batch.tgtIn, batch.tgtOut, batch.tgtLens]);
    model.dispose();
  });

  it('ties the output projection to the target embedding, or not', () => {
    const tied = new TransformerSeq2Seq(TINY);
    const untied = new TransformerSeq2Seq({ ...TINY, tieOutput: false });
    const names = (m: TransformerSeq2Seq) => m.namedVariables().map(([n]) => n);
    assert.ok(!names(tied).includes('out.weight'));
    assert.ok(names(untied).includes('out.weight'));
    const { dModel = 0, tgtVocab } = TINY;
    assert.equal(untied.numParameters() - tied.numParameters(), dModel * tgtVocab + tgtVocab);
    tied.dispose();
    untied.dispose();
  });

  it('rejects bad configs and inputs with errors that name them', () => {
    assert.throws(
      () => new TransformerSeq2Seq({ ...TINY, norm: 'middle' as never }),
      /norm: expected 'post' or 'pre', got middle/,
    );
    assert.throws(
      () => new TransformerSeq2Seq({ ...TINY, numHeads: 3 }),
      /numHeads: expected a divisor of dModel = 8, got 3/,
    );
    assert.throws(
      () => new EncoderBlock({ dModel: 8, numHeads: 2, dropout: 1 }),
      /dropout: expected a rate in \[0, 1\), got 1/,
    );
    const model = new TransformerSeq2Seq(TINY);
    const long = tf.zeros([1, 17], 'int32') as tf.Tensor2D;
    assert.throws(
      () => model.start(long),
      /TransformerSeq2Seq.start: src: expected at most maxLen = 16 positions, got S = 17/,
    );
    const bad = ids([[3, 9]]);
    assert.throws(() => model.encode(bad), /src: expected token ids in \[0, V\) = \[0, 9\), got 9/);
    const state = model.start(ids([[3, 4]]));
    assert.throws(
      () => model.step(tf.tensor1d([1, 1], 'int32'), state),
      /state.srcLens: expected shape \[2\]/,
    );
    const block = new EncoderBlock({ dModel: 8, numHeads: 2 });
    const x = tf.zeros([2, 3, 6]);
    assert.throws(() => block.apply(x), /EncoderBlock.apply: query: expected shape \[B, T, 8\]/);
    tf.dispose([long, bad, x]);
    disposeState(state);
    block.dispose();
    model.dispose();
  });
});

describe('decodingSpeed', () => {
  it('decodes the same tokens with and without the cache, and reports rates', async () => {
    const model = new TransformerSeq2Seq(TINY);
    const src = ids(randomIds(4, 6, TINY.srcVocab, 9));
    const r = await expectNoLeak(() => decodingSpeed(model, src, { maxLen: 12, repeats: 1 }));
    assert.equal(r.sameTokens, true);
    assert.ok(r.tokens >= 4 && r.tokens <= 4 * 12, `tokens ${r.tokens}`);
    assert.ok(r.cachedTokensPerSec > 0 && r.recomputedTokensPerSec > 0);
    assert.ok(Math.abs(r.speedup - r.cachedTokensPerSec / r.recomputedTokensPerSec) < 1e-9);
    assert.throws(
      () => decodingSpeed(model, src, { maxLen: 4, repeats: 0 }),
      /repeats: expected an integer >= 1, got number 0/,
    );
    src.dispose();
    model.dispose();
  });
});
