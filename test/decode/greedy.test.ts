import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Linear } from '../../src/core/linear';
import { Module } from '../../src/core/module';
import { greedyDecode } from '../../src/decode/greedy';
import { attentionHeatmap } from '../../src/viz/figures';
import {
  decodeStep,
  disposeState,
  gatherState,
  startDecoding,
  type DecoderStep,
  type StepDecoder,
} from '../../src/decode/step-decoder';
import { expectNoLeak, expectTensorsClose } from '../helpers/tensors';

const BOS = 0;
const EOS = 1;

/** The state of `TinyAttentionDecoder`: every tensor has the batch on axis 0. */
type TinyState = {
  /** Hidden state `[B, D]`. */
  h: tf.Tensor2D;
  /** "Encoder outputs" `[B, S, D]`. */
  enc: tf.Tensor3D;
  /** 1 for a real source position, 0 for padding, `[B, S]`. */
  keep: tf.Tensor2D;
};

/**
 * The smallest decoder with attention, for these tests only (no embedding table, no GRU):
 * - "encoder": `enc_s = tanh(onehot(x_s) W_src)`, one vector per source token, no recurrence;
 * - recurrence: `h_t = tanh(onehot(y_{t-1}) W_in + h_{t-1} W_h)`, `h_0 = 0`;
 * - dot attention: `a_t = softmax_s(enc_s . h_t / sqrt(D))` over the valid source positions,
 *   `c_t = sum_s a_ts enc_s`;
 * - output: `logits_t = [h_t, c_t] W_out + b_out`.
 * `step` computes one `t`; `forward` computes all `t` of a teacher-forced target at once, with
 * the attention batched over `T`: two code paths that must agree.
 */
class TinyAttentionDecoder extends Module implements StepDecoder<TinyState> {
  readonly bos = BOS;
  readonly eos = EOS;
  readonly srcProj: Linear;
  readonly inProj: Linear;
  readonly hidProj: Linear;
  readonly outProj: Linear;

  constructor(
    readonly vocab: number,
    readonly width: number,
    seed: number,
  ) {
    super();
    this.srcProj = new Linear({ inFeatures: vocab, outFeatures: width, seed });
    this.inProj = new Linear({ inFeatures: vocab, outFeatures: width, seed: seed + 1 });
    this.hidProj = new Linear({
      inFeatures: width,
      outFeatures: width,
      bias: false,
      seed: seed + 2,
    });
    this.outProj = new Linear({ inFeatures: 2 * width, outFeatures: vocab, seed: seed + 3 });
    tf.tidy(() => this.outProj.bias!.assign(tf.randomNormal([vocab], 0, 0.5, 'float32', seed)));
  }

  private encode(
    src: tf.Tensor2D,
    srcValidLens?: tf.Tensor1D,
  ): { enc: tf.Tensor3D; keep: tf.Tensor2D } {
    const [, srcLen] = src.shape;
    const enc = tf.tanh(this.srcProj.apply(tf.oneHot(src, this.vocab).toFloat())) as tf.Tensor3D; // [B, S, V] -> [B, S, D]
    const lens = srcValidLens ?? tf.fill([src.shape[0]], srcLen, 'int32');
    // keep[b, s] = s < lens[b]: [1, S] vs [B, 1] -> [B, S]
    const keep = tf
      .less(tf.range(0, srcLen, 1, 'int32').expandDims(0), lens.expandDims(1))
      .toFloat() as tf.Tensor2D;
    return { enc, keep };
  }

  start(src: tf.Tensor2D, srcValidLens?: tf.Tensor1D): TinyState {
    const { enc, keep } = this.encode(src, srcValidLens);
    return { h: tf.zeros([src.shape[0], this.width]), enc, keep };
  }

  step(prev: tf.Tensor1D, state: TinyState): DecoderStep<TinyState> {
    const x = tf.oneHot(prev, this.vocab).toFloat(); // [B] -> [B, V]
    const h = tf.tanh(tf.add(this.inProj.apply(x), this.hidProj.apply(state.h))) as tf.Tensor2D; // [B, D]
    // [B, S, D] x [B, D, 1] -> [B, S, 1] -> [B, S]
    const scores = tf.matMul(state.enc, h.expandDims(2)).squeeze([2]).div(Math.sqrt(this.width));
    const masked = tf.where(state.keep.toBool(), scores, tf.fill(scores.shape, -1e9));
    const weights = tf.softmax(masked) as tf.Tensor2D; // [B, S]
    const context = tf.matMul(weights.expandDims(1), state.enc).squeeze([1]); // [B, 1, S] x [B, S, D] -> [B, D]
    const logits = this.outProj.apply(tf.concat([h, context], 1)) as tf.Tensor2D; // [B, 2D] -> [B, V]
    return { logits, state: { h, enc: state.enc, keep: state.keep }, weights };
  }

  /**
   * Teacher forcing: the logits `[B, T, V]` and weights `[B, T, S]` of every position of `tgtIn`
   * (`[B, T]`, starting with the bos) in one pass.
   */
  forward(
    src: tf.Tensor2D,
    tgtIn: tf.Tensor2D,
    srcValidLens?: tf.Tensor1D,
  ): { logits: tf.Tensor3D; weights: tf.Tensor3D } {
    return tf.tidy(() => {
      const [batch, tgtLen] = tgtIn.shape;
      const { enc, keep } = this.encode(src, srcValidLens);
      const xs = this.inProj.apply(tf.oneHot(tgtIn, this.vocab).toFloat()); // [B, T, V] -> [B, T, D]
      const hs: tf.Tensor2D[] = [];
      let h: tf.Tensor2D = tf.zeros([batch, this.width]);
      for (let t = 0; t < tgtLen; t++) {
        const xt = xs.slice([0, t, 0], [batch, 1, this.width]).squeeze([1]); // [B, D]
        h = tf.tanh(tf.add(xt, this.hidProj.apply(h))) as tf.Tensor2D;
        hs.push(h);
      }
      const H = tf.stack(hs, 1) as tf.Tensor3D; // T x [B, D] -> [B, T, D]
      // [B, T, D] x [B, S, D]^T -> [B, T, S]
      const scores = tf.matMul(H, enc, false, true).div(Math.sqrt(this.width));
      const keep3 = keep.expandDims(1).tile([1, tgtLen, 1]).toBool(); // [B, S] -> [B, T, S]
      const weights = tf.softmax(
        tf.where(keep3, scores, tf.fill(scores.shape, -1e9)),
      ) as tf.Tensor3D;
      const context = tf.matMul(weights, enc); // [B, T, S] x [B, S, D] -> [B, T, D]
      const logits = this.outProj.apply(tf.concat([H, context], 2)) as tf.Tensor3D; // [B, T, 2D] -> [B, T, V]
      return { logits, weights };
    });
  }
}

/**
 * A decoder whose step `t` gives example `b` the logits of `script[b][t]` (5 for it, 0 for the
 * rest), attends to source position `t mod S`, and records the `prev` tokens it was fed.
 */
class ScriptedDecoder implements StepDecoder<{ pos: tf.Tensor1D }> {
  fed: number[][] = [];
  steps = 0;
  constructor(
    readonly script: number[][],
    readonly vocab: number,
    readonly failAt = -1,
  ) {}

  start(src: tf.Tensor2D): { pos: tf.Tensor1D } {
    this.fed = [];
    this.steps = 0;
    this.srcLen = src.shape[1];
    return { pos: tf.zeros([src.shape[0]], 'int32') };
  }

  srcLen = 0;

  step(prev: tf.Tensor1D, state: { pos: tf.Tensor1D }): DecoderStep<{ pos: tf.Tensor1D }> {
    if (this.steps === this.failAt) throw new Error('scripted failure');
    const t = this.steps++;
    this.fed.push([...prev.dataSync()]);
    const ids = this.script.map((row) => row[Math.min(t, row.length - 1)]);
    const logits = tf.oneHot(tf.tensor1d(ids, 'int32'), this.vocab).toFloat().mul(5) as tf.Tensor2D;
    const weights = tf
      .oneHot(tf.fill([ids.length], t % this.srcLen, 'int32'), this.srcLen)
      .toFloat() as tf.Tensor2D;
    return { logits, weights, state: { pos: tf.add(state.pos, 1) } };
  }
}

describe('step-wise decoding', () => {
  const V = 7;
  const D = 6;
  const src = (): tf.Tensor2D =>
    tf.tensor2d(
      [
        [2, 3, 4, 5, 6],
        [6, 2, 2, 0, 0],
        [3, 0, 0, 0, 0],
      ],
      undefined,
      'int32',
    );
  const lens = (): tf.Tensor1D => tf.tensor1d([5, 3, 1], 'int32');

  it('step by step equals the teacher-forced pass on the same prefix (logits and weights)', async () => {
    const model = new TinyAttentionDecoder(V, D, 1);
    const s = src();
    const l = lens();
    const tgtIn = tf.tensor2d(
      [
        [BOS, 4, 2, 6],
        [BOS, 1, 1, 3],
        [BOS, 5, 5, 5],
      ],
      undefined,
      'int32',
    );
    await expectNoLeak(() => {
      const ref = model.forward(s, tgtIn, l);
      let state = startDecoding(model, s, l);
      for (let t = 0; t < 4; t++) {
        const prev = tf.tidy(() => tgtIn.slice([0, t], [3, 1]).squeeze([1]) as tf.Tensor1D);
        const out = decodeStep(model, prev, state);
        disposeState(state);
        state = out.state;
        const [wantLogits, wantWeights] = tf.tidy(() => [
          ref.logits.slice([0, t, 0], [3, 1, V]).squeeze([1]),
          ref.weights.slice([0, t, 0], [3, 1, 5]).squeeze([1]),
        ]);
        expectTensorsClose(out.logits, wantLogits, { atol: 1e-5, label: `logits at t = ${t}` });
        expectTensorsClose(out.weights!, wantWeights, { atol: 1e-5, label: `weights at t = ${t}` });
        // Padding gets no weight; each row sums to 1.
        const w = out.weights!.arraySync();
        assert.deepEqual([w[1][3], w[1][4], ...w[2].slice(1)], [0, 0, 0, 0, 0, 0]);
        w.forEach((row) => assert.ok(Math.abs(row.reduce((a, b) => a + b) - 1) < 1e-6));
        tf.dispose([prev, out.logits, out.weights!, wantLogits, wantWeights]);
      }
      disposeState(state);
      tf.dispose([ref.logits, ref.weights]);
    }, 'step-wise decoding');
    tf.dispose([s, l, tgtIn]);
    model.dispose();
  });

  it('greedy decoding feeds back the argmax of the teacher-forced pass on its own output', async () => {
    const model = new TinyAttentionDecoder(V, D, 2);
    const s = src();
    const l = lens();
    const result = await expectNoLeak(
      () => greedyDecode(model, s, { maxLen: 6, srcValidLens: l }),
      'greedyDecode',
    );
    const srcRows = s.arraySync();
    for (let b = 0; b < 3; b++) {
      const tokens = result.tokens[b];
      assert.ok(tokens.length >= 1 && tokens.length <= 6);
      assert.equal(result.finished[b], tokens[tokens.length - 1] === EOS);
      assert.ok(!tokens.slice(0, -1).includes(EOS), 'nothing after the eos');
      // Teacher-force the greedy output (one example, its own source length) and check argmax.
      const lenB = [5, 3, 1][b];
      const sb = tf.tensor2d([srcRows[b].slice(0, lenB)], undefined, 'int32');
      const tgtIn = tf.tensor2d([[BOS, ...tokens.slice(0, -1)]], undefined, 'int32');
      const ref = model.forward(sb, tgtIn);
      const logits = ref.logits.arraySync()[0];
      let logProb = 0;
      logits.forEach((row, t) => {
        const best = row.indexOf(Math.max(...row));
        assert.equal(tokens[t], best, `example ${b}, step ${t}`);
        const logSum = Math.log(row.reduce((acc, v) => acc + Math.exp(v), 0));
        logProb += row[best] - logSum;
      });
      assert.ok(
        Math.abs(result.logProb[b] - logProb) < 1e-4,
        `logProb ${result.logProb[b]} vs ${logProb}`,
      );
      // Weights: [T_b, S], padding columns zero, valid part equal to the unpadded pass's.
      const w = result.weights![b];
      assert.equal(w.length, tokens.length);
      const refW = ref.weights.arraySync()[0];
      w.forEach((row, t) => {
        assert.equal(row.length, 5);
        row.slice(lenB).forEach((v) => assert.equal(v, 0));
        row.slice(0, lenB).forEach((v, j) => assert.ok(Math.abs(v - refW[t][j]) < 1e-5));
      });
      // Ready for an alignment heatmap: one row per generated token, one column per source token.
      const fig = attentionHeatmap(w, {
        queries: tokens.map(String),
        keys: srcRows[b].map(String),
      });
      assert.equal(fig.panels.length, 1);
      tf.dispose([sb, tgtIn, ref.logits, ref.weights]);
    }
    tf.dispose([s, l]);
    model.dispose();
  });

  it('greedy decoding stops each example at the eos, and the batch when all are done', async () => {
    const s = tf.tensor2d(
      [
        [2, 3, 4],
        [4, 4, 4],
        [5, 5, 5],
      ],
      undefined,
      'int32',
    );
    const decoder = new ScriptedDecoder([[5, 3, EOS, 4], [2, 2, EOS], [EOS]], V);
    const r = await expectNoLeak(
      () => greedyDecode(decoder, s, { bos: BOS, eos: EOS, maxLen: 10 }),
      'greedy',
    );
    assert.deepEqual(r.tokens, [[5, 3, EOS], [2, 2, EOS], [EOS]]);
    assert.deepEqual(r.finished, [true, true, true]);
    assert.equal(decoder.steps, 3, 'stops when every example is finished');
    // Fed: the bos, then the previous argmax of every example (finished ones too).
    assert.deepEqual(decoder.fed, [
      [BOS, BOS, BOS],
      [5, 2, EOS],
      [3, 2, EOS],
    ]);
    assert.deepEqual(r.weights, [
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
      [[1, 0, 0]],
    ]);
    // log p of a logit 5 among 7 logits 0: 5 - log(e^5 + 6).
    const lp = 5 - Math.log(Math.exp(5) + 6);
    r.logProb.forEach((v, b) => assert.ok(Math.abs(v - lp * r.tokens[b].length) < 1e-5));

    const capped = greedyDecode(
      new ScriptedDecoder([[5, 3, EOS], [2]], V),
      s.slice([0, 0], [2, 3]) as tf.Tensor2D,
      {
        bos: 3,
        eos: EOS,
        maxLen: 2,
      },
    );
    assert.deepEqual(capped.tokens, [
      [5, 3],
      [2, 2],
    ]);
    assert.deepEqual(capped.finished, [false, false]);
    tf.dispose(s);
  });

  it('works with a Transformer-style state that grows: the prefix so far', async () => {
    // Next token = (first source token + sum of the prefix) mod V, from logits one-hot * 3.
    // The state is the prefix [B, t], one column longer after each step (bos included).
    const prefixDecoder: StepDecoder<{ prefix: tf.Tensor2D; first: tf.Tensor1D }> = {
      bos: 0,
      eos: 6,
      start: (x) => ({
        prefix: tf.zeros([x.shape[0], 0], 'int32') as tf.Tensor2D,
        first: x.slice([0, 0], [x.shape[0], 1]).squeeze([1]) as tf.Tensor1D,
      }),
      step: (prev, state) => {
        const prefix = tf.concat([state.prefix, prev.expandDims(1)], 1) as tf.Tensor2D; // [B, t] -> [B, t + 1]
        const next = tf.mod(tf.add(state.first, tf.sum(prefix, 1)), V).toInt() as tf.Tensor1D;
        const logits = tf.oneHot(next, V).toFloat().mul(3) as tf.Tensor2D;
        return { logits, state: { prefix, first: state.first } };
      },
    };
    const x = tf.tensor2d(
      [
        [1, 4],
        [3, 3],
        [5, 2],
      ],
      undefined,
      'int32',
    );
    const r = await expectNoLeak(
      () => greedyDecode(prefixDecoder, x, { maxLen: 5 }),
      'prefix decoder',
    );
    // By hand: y_1 = f, y_t = (f + y_1 + ... + y_{t-1}) mod 7 (the bos is 0), until the eos 6.
    // f = 1: 1, 2, 4, 8 mod 7 = 1, 9 mod 7 = 2 (maxLen); f = 3: 3, 6; f = 5: 5, 10 mod 7 = 3, 13 mod 7 = 6.
    assert.deepEqual(r.tokens, [
      [1, 2, 4, 1, 2],
      [3, 6],
      [5, 3, 6],
    ]);
    assert.deepEqual(r.finished, [false, true, true]);
    assert.equal(r.weights, null);
    x.dispose();
  });

  it('scores a masked vocabulary (-Infinity logits) with finite log-probabilities', () => {
    const masked: StepDecoder<tf.Tensor1D> = {
      start: (x) => tf.zeros([x.shape[0]]),
      step: (_prev, state) => ({
        logits: tf.tensor2d([[-Infinity, 2, 0, -Infinity, -Infinity, -Infinity, -Infinity]]),
        state,
      }),
    };
    const x = tf.tensor2d([[3]], undefined, 'int32');
    const r = greedyDecode(masked, x, { bos: 0, eos: 1, maxLen: 4 });
    assert.deepEqual(r.tokens, [[1]]);
    assert.ok(
      Math.abs(r.logProb[0] - (2 - Math.log(Math.exp(2) + 1))) < 1e-6,
      String(r.logProb[0]),
    );
    x.dispose();
  });

  it('leaks nothing when the decoder throws mid-way', async () => {
    const s = tf.tensor2d([[2, 3]], undefined, 'int32');
    await expectNoLeak(() => {
      assert.throws(
        () => greedyDecode(new ScriptedDecoder([[4]], V, 2), s, { bos: 0, eos: 1, maxLen: 5 }),
        /scripted failure/,
      );
    }, 'failing decode');
    s.dispose();
  });

  it('gatherState picks and repeats rows of every tensor in a state, leaving it unchanged', async () => {
    const state = {
      h: tf.tensor2d([
        [0, 1],
        [2, 3],
        [4, 5],
      ]),
      nested: [tf.tensor1d([7, 8, 9], 'int32')],
      tag: 'x',
    };
    const rows = tf.tensor1d([2, 0, 2], 'int32');
    const picked = await expectNoLeak(() => {
      const g = gatherState(state, rows);
      const out = { h: g.h.arraySync(), n: g.nested[0].arraySync(), tag: g.tag };
      disposeState(g);
      return out;
    }, 'gatherState');
    assert.deepEqual(picked, {
      h: [
        [4, 5],
        [0, 1],
        [4, 5],
      ],
      n: [9, 7, 9],
      tag: 'x',
    });
    assert.deepEqual(state.h.arraySync(), [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    assert.throws(
      () => gatherState(state, tf.tensor1d([3], 'int32')),
      /rows: expected indices in \[0, 3\), got 3 at 0/,
    );
    assert.throws(
      () => gatherState({ a: tf.zeros([3, 1]), b: tf.zeros([2]) }, rows),
      /state: expected every tensor to have the batch 3 on axis 0, got shape \[2\]/,
    );
    disposeState(state);
    rows.dispose();
  });

  it('validates its arguments and what the decoder returns, naming them', () => {
    const s = tf.tensor2d([[2, 3]], undefined, 'int32');
    const ok = new ScriptedDecoder([[EOS]], V);
    assert.throws(
      () => greedyDecode(ok, s, { maxLen: 3 }),
      /bos: expected a token id in the options or on the decoder, got neither/,
    );
    assert.throws(
      () => greedyDecode(ok, s, { bos: 0, eos: 1, maxLen: 0 }),
      /maxLen: expected an integer >= 1, got number 0/,
    );
    const float = s.toFloat() as tf.Tensor2D;
    const tooLong = tf.tensor1d([3], 'int32');
    assert.throws(
      () => greedyDecode(ok, float, { bos: 0, eos: 1, maxLen: 3 }),
      /src: expected dtype int32, got float32/,
    );
    assert.throws(
      () => greedyDecode(ok, s, { bos: 0, eos: 1, maxLen: 3, srcValidLens: tooLong }),
      /srcValidLens: expected integers in \[0, S\] = \[0, 2\], got 3/,
    );
    assert.throws(
      () => greedyDecode({} as StepDecoder<unknown>, s, { bos: 0, eos: 1, maxLen: 3 }),
      /decoder: expected an object with start/,
    );
    const badLogits: StepDecoder<tf.Tensor> = {
      start: (x) => tf.zeros([x.shape[0]]),
      step: (prev, state) => ({ logits: tf.zeros([prev.shape[0] + 1, V]) as tf.Tensor2D, state }),
    };
    assert.throws(
      () => greedyDecode(badLogits, s, { bos: 0, eos: 1, maxLen: 3 }),
      /decoder.step logits: expected shape \[B, V\] with B = 1 \(from prev\), got \[2, 7\]/,
    );
    const badWeights: StepDecoder<tf.Tensor> = {
      start: (x) => tf.zeros([x.shape[0]]),
      step: (_prev, state) => ({
        logits: tf.zeros([1, V]) as tf.Tensor2D,
        weights: tf.zeros([1, 4]) as tf.Tensor2D,
        state,
      }),
    };
    assert.throws(
      () => greedyDecode(badWeights, s, { bos: 0, eos: 1, maxLen: 3 }),
      /decoder.step weights: expected shape \[B, S\] = \[1, 2\], got \[1, 4\]/,
    );
    tf.dispose([s, float, tooLong]);
  });
});
