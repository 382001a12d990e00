/**
 * Deliberately wrong answers, one table row each: the score each must get (reasoned by hand
 * from the graded tests, in the comment of the row), what its feedback must name, and what it
 * must NOT say (a hint about a problem the answer does not have, such as "overflows" for a
 * softmax over the wrong axis). Trivial answers (a constant kernel, uniform weights, argmax for
 * a softmax, a constant loss) are rows too: they must not earn the points of real work.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { diagnoseWeights } from '../../src/course/exercise';
import { gradeExercise, loadSpecs } from '../../tools/grading/framework';

const ROOT = path.resolve(__dirname, '../..');
const TF = JSON.stringify(require.resolve('@tensorflow/tfjs'));

/** Validates a temperature like the exercise asks; used by the 00.1 rows. */
const VALIDATE = `if (!(tau > 0) || !Number.isFinite(tau)) throw new RangeError('temperature: expected a finite number > 0, got ' + tau);`;

interface Row {
  exercise: string;
  what: string;
  /** The answer module, as CommonJS with `tf` in scope. */
  code: string;
  /** Points it must earn (by hand, see the comment). */
  earned: number;
  /** Each must match the feedback of some failed test. */
  names?: RegExp[];
  /** None may match any feedback. */
  never?: RegExp[];
}

/**
 * A GRU step in CommonJS for the 03 rows: `swapZ` mixes with z and 1 - z swapped, `paper` applies
 * the reset gate before the product with W_hn (the paper's variant).
 */
const GRU_STEP = `function gru(x, h, wX, wH, bX, bH, swapZ, paper) {
  const d = h.shape[1];
  const [xR, xZ, xN] = tf.split(tf.add(tf.matMul(x, wX), bX), 3, -1);
  const [hR, hZ, hN] = tf.split(tf.add(tf.matMul(h, wH), bH), 3, -1);
  const r = tf.sigmoid(tf.add(xR, hR)); const z = tf.sigmoid(tf.add(xZ, hZ));
  const inner = paper ? tf.add(tf.matMul(tf.mul(r, h), wH.slice([0, 2 * d], [d, d])), bH.slice([2 * d], [d])) : tf.mul(r, hN);
  const n = tf.tanh(tf.add(xN, inner));
  return swapZ ? tf.add(tf.mul(z, n), tf.mul(tf.sub(1, z), h)) : tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
}`;

/**
 * An attention step in CommonJS for the 03.2 rows: `mask` false ignores the valid lengths, `axis`
 * is the softmax's axis, and `requery` attends again with the new state s_i.
 */
const ATTENTION_STEP = `${GRU_STEP}
function step(y, sPrev, keys, memory, lens, wA, v, g, mask, axis, requery) {
  const attend = (query) => {
    let e = tf.sum(tf.mul(tf.tanh(tf.add(tf.matMul(query, wA).expandDims(1), keys)), v), -1);
    if (mask) e = tf.where(tf.less(tf.range(0, keys.shape[1], 1, 'int32').expandDims(0), lens.expandDims(1)), e, tf.fill(e.shape, -1e9));
    return axis === 0 ? tf.softmax(e.transpose()).transpose() : tf.softmax(e);
  };
  const weights = attend(sPrev);
  const context = tf.matMul(weights.expandDims(1), memory).squeeze([1]);
  const s = gru(tf.concat([y, context], 1), sPrev, g.wX, g.wH, g.bX, g.bH, false, false);
  return { weights: requery ? attend(s) : weights, context, s };
}`;

/** A greedy loop in CommonJS for the 03.3 rows; `mode` picks the mistake. */
const GREEDY = `function loop(decoder, src, bos, eos, maxLen, mode) {
  return tf.tidy(() => {
    const B = src.shape[0]; const out = Array.from({ length: B }, () => []); const done = out.map(() => false);
    let state = decoder.start(src); let prev = tf.fill([B], bos, 'int32');
    for (let t = 0; t < maxLen && !done.every(Boolean); t++) {
      const o = decoder.step(mode === 'always bos' ? tf.fill([B], bos, 'int32') : prev, state); state = o.state;
      prev = tf.argMax(o.logits, 1).toInt(); const ids = prev.dataSync();
      for (let b = 0; b < B; b++) {
        if (done[b] && mode !== 'after eos') continue;
        out[b].push(ids[b]);
        if (ids[b] === eos) done[b] = true;
      }
      if (mode === 'first eos' && done.some(Boolean)) break;
    }
    return out;
  });
}`;

/** Luong's general attention in CommonJS for the 04.1 rows: `useHPrev` attends with h_{t-1}. */
const LUONG_GENERAL = `function general(h, hPrev, memory, lens, wA, wC, useHPrev) {
  const q = tf.matMul(useHPrev ? hPrev : h, wA).expandDims(1);
  const e = tf.matMul(q, memory, false, true).squeeze([1]);
  const valid = tf.less(tf.range(0, memory.shape[1], 1, 'int32').expandDims(0), lens.expandDims(1));
  const weights = tf.softmax(tf.where(valid, e, tf.fill(e.shape, -1e9)));
  const context = tf.matMul(weights.expandDims(1), memory).squeeze([1]);
  return { weights, context, attentional: tf.tanh(tf.matMul(tf.concat([context, h], 1), wC)) };
}`;

/** The local-p window in CommonJS for the 04.2 rows: `sigmaD` uses sigma = D, `noCut` ignores L. */
const LOCAL_P = `function localP(h, scores, lens, wP, vP, D, sigmaD, noCut) {
  const L = lens.toFloat().expandDims(1);
  const p = tf.mul(L, tf.sigmoid(tf.matMul(tf.tanh(tf.matMul(h, wP)), vP.expandDims(1))));
  const s = tf.range(0, scores.shape[1]).expandDims(0);
  const off = tf.sub(s, p);
  let inside = tf.lessEqual(tf.abs(off), D);
  if (!noCut) inside = tf.logicalAnd(inside, tf.less(s, L));
  const align = tf.softmax(tf.where(inside, scores, tf.fill(scores.shape, -1e9)));
  const sigma = sigmaD ? D : D / 2;
  return { positions: p.squeeze([1]), weights: tf.mul(align, tf.exp(tf.div(tf.square(off), -2 * sigma * sigma))) };
}`;

const ROWS: Row[] = [
  // 00.1 (5 points: match 2, limits 1, stable 1, RangeError 1).
  {
    exercise: 'softmax-temperature',
    what: 'softmax over the first axis instead of the last',
    // Right for the rank-1 cases (limits: 1) and the RangeError (1); wrong for [3, 4] and [3, 5].
    code: `exports.softmaxWithTemperature = (s, tau) => { ${VALIDATE}
      return tf.tidy(() => { const x = tf.div(s, tau); const e = tf.exp(tf.sub(x, tf.max(x, 0, true))); return tf.div(e, tf.sum(e, 0, true)); }); };`,
    earned: 2,
    names: [/sum to 1 along axis 0 \(size 3\), not along the last axis/],
    never: [/overflow/i],
  },
  {
    exercise: 'softmax-temperature',
    what: 'ignores the temperature',
    // Match fails at tau 0.5, limits fail (not one-hot at 0.01); stable passes (at tau 1, and at
    // tau 0.001 scores ~1000 are one-hot anyway); RangeError passes: 2.
    code: `exports.softmaxWithTemperature = (s, tau) => { ${VALIDATE} return tf.softmax(s); };`,
    earned: 2,
    names: [/ignore the temperature 0\.5/],
    never: [/overflow/i],
  },
  {
    exercise: 'softmax-temperature',
    what: 'hard selection (one-hot at the maximum) instead of a softmax',
    // Only the RangeError test: the huge temperature is not uniform, and 1000 + N(0, 1) is not one-hot.
    code: `exports.softmaxWithTemperature = (s, tau) => { ${VALIDATE}
      return tf.tidy(() => tf.oneHot(tf.argMax(s, -1), s.shape[s.rank - 1]).toFloat().reshape(s.shape)); };`,
    earned: 1,
    never: [/overflow/i],
  },
  {
    exercise: 'softmax-temperature',
    what: 'exp without subtracting the row maximum',
    // Match (2) and RangeError (1); limits (scores / 0.01 reach 300) and stable give NaN.
    code: `exports.softmaxWithTemperature = (s, tau) => { ${VALIDATE}
      return tf.tidy(() => { const e = tf.exp(tf.div(s, tau)); return tf.div(e, tf.sum(e, -1, true)); }); };`,
    earned: 3,
    names: [/is NaN .*overflows to Infinity/],
  },
  {
    exercise: 'softmax-temperature',
    what: 'returns the scores unchanged (only validates the temperature)',
    // Validating the temperature is a requirement of its own (1 point); nothing else passes.
    code: `exports.softmaxWithTemperature = (s, tau) => { ${VALIDATE} return s.clone(); };`,
    earned: 1,
  },
  // 00.2 (4 points: hand row and uniform 1, zeros 1, random 2).
  {
    exercise: 'entropy',
    what: 'a constant ln S, whatever the weights',
    // Wrong on [0.5, 0.25, 0.25] (ln 3, not 1.5 ln 2), on one-hot rows and on random weights.
    code: `exports.attentionEntropy = (w) => tf.fill(w.shape.slice(0, -1), Math.log(w.shape[w.rank - 1]));`,
    earned: 0,
  },
  {
    exercise: 'entropy',
    what: 'log base 2 (bits, not nats)',
    // log2(2) = 1 instead of ln 2 for uniform weights; [0.5, 0.5, 0] gives 1; random rows differ: 0.
    code: `exports.attentionEntropy = (w) => tf.tidy(() => { const safe = tf.where(tf.greater(w, 0), w, tf.onesLike(w));
      return tf.neg(tf.sum(tf.mul(w, tf.div(tf.log(safe), Math.LN2)), -1)); });`,
    earned: 0,
    names: [/entropy in bits/],
  },
  // 00.3 (6 points: hard 1 + 1 + 1, soft 2, stable 1).
  {
    exercise: 'hard-vs-soft',
    what: 'softSelect returns one-hot weights (hard selection)',
    // The three hardSelect tests pass (3); soft and stable (1000 + N(0, 1) is not one-hot) fail.
    code: `const sel = (w, v) => tf.matMul(w.reshape([v.shape[0], 1, v.shape[1]]), v).reshape([v.shape[0], v.shape[2]]);
      const hard = (s, v) => tf.tidy(() => { const w = tf.oneHot(tf.argMax(s, -1), s.shape[1]).toFloat(); return { weights: w, output: sel(w, v) }; });
      exports.hardSelect = hard; exports.softSelect = hard;`,
    earned: 3,
    names: [/one-hot \(hard selection\): soft selection keeps every item/],
    never: [/overflow/i],
  },
  // 01.1 (8 points).
  {
    exercise: 'kernel',
    what: 'a constant kernel K(d) = 1',
    // Average pooling, not attention: every test asks first that the kernel decays.
    code: `exports.kernel = (d) => tf.onesLike(d);`,
    earned: 0,
    names: [/kernel\(10000\) = 1 while kernel\(0\) = 1: a kernel that does not fall off/],
  },
  {
    exercise: 'kernel',
    what: 'the zero kernel K(d) = 0',
    code: `exports.kernel = (d) => tf.zerosLike(d);`,
    earned: 0,
    names: [/kernel\(0\) = 0, expected a finite number > 0/],
  },
  {
    exercise: 'kernel',
    what: 'the Laplace kernel exp(-|d|) (a right answer other than the reference)',
    code: `exports.kernel = (d) => tf.tidy(() => tf.exp(tf.neg(tf.abs(d))));`,
    earned: 8,
  },
  // 01.2 (6 points: nearest-key weights 1, Gaussian 2, chapter data 1, tiny width 1, huge/tiny 1).
  {
    exercise: 'nadaraya-watson',
    what: 'uniform weights 1/K and the mean as every prediction',
    // Right only for a huge width; the nearest key does not get the most weight: 0.
    code: `exports.nadarayaWatson = (q, k, v) => tf.tidy(() => ({
      weights: tf.fill([q.shape[0], k.shape[0]], 1 / k.shape[0]), predictions: tf.fill([q.shape[0]], tf.mean(v).dataSync()[0]) }));`,
    earned: 0,
  },
  {
    exercise: 'nadaraya-watson',
    what: 'forgets to divide by the width',
    // Weights still favour the nearest key (1); everything that depends on h fails.
    code: `exports.nadarayaWatson = (q, k, v) => tf.tidy(() => { const u = tf.sub(q.expandDims(1), k.expandDims(0));
      const w = tf.softmax(tf.mul(tf.square(u), -0.5)); return { weights: w, predictions: tf.matMul(w, v.expandDims(1)).reshape([-1]) }; });`,
    earned: 1,
    names: [/ignore the width h = 0\.5: divide the distances/],
    never: [/underflow|NaN/],
  },
  {
    exercise: 'nadaraya-watson',
    what: 'exp(-u^2 / 2) divided by its sum (no softmax): NaN for a tiny width',
    // All but the tiny-width test (a query on a key keeps exp(0) = 1, so no NaN there): 5.
    code: `exports.nadarayaWatson = (q, k, v, h) => tf.tidy(() => { const u = tf.div(tf.sub(q.expandDims(1), k.expandDims(0)), h);
      const e = tf.exp(tf.mul(tf.square(u), -0.5)); const w = tf.div(e, tf.sum(e, -1, true));
      return { weights: w, predictions: tf.matMul(w, v.expandDims(1)).reshape([-1]) }; });`,
    earned: 5,
    names: [/is NaN .*underflows to 0/],
  },
  // 01.3 (5 points: scalar 1, hand 1, library 2, tiny width 1).
  {
    exercise: 'leave-one-out',
    what: 'a constant loss of 0',
    code: `exports.leaveOneOutLoss = () => tf.scalar(0);`,
    earned: 0,
  },
  {
    exercise: 'leave-one-out',
    what: 'the variance of the values (ignores keys and width)',
    // 0 for equal values, but the same loss at every width: 0.
    code: `exports.leaveOneOutLoss = (k, v) => tf.tidy(() => tf.mean(tf.square(tf.sub(v, tf.mean(v)))));`,
    earned: 0,
    names: [/expected two different positive losses/],
  },
  // 02.1 (5 points: match 2, padding 1, empty row 1, stable 1).
  {
    exercise: 'masked-softmax',
    what: 'ignores the mask',
    code: `exports.maskedSoftmax = (s) => tf.softmax(s);`,
    earned: 0,
    names: [/ignore validLens/],
    never: [/overflow/i],
  },
  {
    exercise: 'masked-softmax',
    what: 'mask off by one (s <= validLens[b])',
    // Every test has a batch element with validLens < S, so every test sees one key too many.
    code: `exports.maskedSoftmax = (s, lens) => tf.tidy(() => {
      const keep = tf.lessEqual(tf.range(0, s.shape[2]).reshape([1, 1, -1]), lens.toFloat().reshape([-1, 1, 1])).broadcastTo(s.shape);
      return tf.mul(tf.softmax(tf.where(keep, s, tf.fill(s.shape, -1e30))), tf.cast(keep, 'float32')); });`,
    earned: 0,
    names: [/off by one: key s takes part only when s < validLens\[b\]/],
    never: [/overflow/i],
  },
  // 02.2 (5 points).
  {
    exercise: 'additive-scores',
    what: 'all-zero scores of the right shape',
    code: `exports.additiveScores = (q, k) => tf.zeros([q.shape[0], q.shape[1], k.shape[1]]);`,
    earned: 0,
  },
  // 02.3 (8 points: match 2, d = 512 1, padding 2, empty 1, stable 1, no leaks 1).
  {
    exercise: 'scaled-dot-product',
    what: 'forgets the scale 1/sqrt(D)',
    // Every test has scores that the scale changes: 0.
    code: `exports.scaledDotProductAttention = (q, k, v, lens) => tf.tidy(() => {
      let s = tf.matMul(q, k, false, true); let keep = null;
      if (lens) { keep = tf.less(tf.range(0, k.shape[1]).reshape([1, 1, -1]), lens.toFloat().reshape([-1, 1, 1])).broadcastTo(s.shape); s = tf.where(keep, s, tf.fill(s.shape, -1e30)); }
      let w = tf.softmax(s); if (keep) w = tf.mul(w, tf.cast(keep, 'float32'));
      return { weights: w, output: tf.matMul(w, v) }; });`,
    earned: 0,
    names: [/without scaling: divide the scores by Math\.sqrt\(D\)/],
    never: [/overflow/i],
  },
  {
    exercise: 'scaled-dot-product',
    what: 'ignores validLens',
    // The two tests without a mask pass (2 + 1); every test with validLens fails.
    code: `exports.scaledDotProductAttention = (q, k, v) => tf.tidy(() => {
      const w = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(q.shape[2])));
      return { weights: w, output: tf.matMul(w, v) }; });`,
    earned: 3,
    names: [/ignore validLens: keys at positions >= validLens\[b\] must get weight 0/],
    never: [/overflow/i],
  },
  {
    exercise: 'scaled-dot-product',
    what: 'weights transposed to [B, S, T]',
    // Shapes differ wherever T != S, in every test: 0.
    code: `exports.scaledDotProductAttention = (q, k, v) => tf.tidy(() => {
      const w = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(q.shape[2])));
      return { weights: w.transpose([0, 2, 1]), output: tf.matMul(w, v) }; });`,
    earned: 0,
    names: [/with the last two axes swapped/],
  },
  // 03.1 (5 points: PyTorch small 2, PyTorch wide 1, hand case 1, no leaks 1).
  {
    exercise: 'gru-step',
    what: 'z and 1 - z swapped',
    // Every test compares with PyTorch or the hand case (z ~ 0 there: the swap returns h): 0.
    code: `${GRU_STEP}
      exports.gruStep = (x, h, wX, wH, bX, bH) => tf.tidy(() => gru(x, h, wX, wH, bX, bH, true, false));`,
    earned: 0,
    names: [/z and 1 - z are swapped/],
  },
  {
    exercise: 'gru-step',
    what: "the paper's reset gate, W_hn (r * h)",
    // b_hn != 0 in every case, so the candidate differs everywhere: 0.
    code: `${GRU_STEP}
      exports.gruStep = (x, h, wX, wH, bX, bH) => tf.tidy(() => gru(x, h, wX, wH, bX, bH, false, true));`,
    earned: 0,
    names: [/reset gate before the product, W_hn \(r \* h\) as in the paper/],
  },
  {
    exercise: 'gru-step',
    what: 'right, but without tf.tidy',
    // Everything but the leak test: 4.
    code: `${GRU_STEP}
      exports.gruStep = (x, h, wX, wH, bX, bH) => gru(x, h, wX, wH, bX, bH, false, false);`,
    earned: 4,
    names: [/left \d+ intermediate tensor\(s\)/],
  },
  // 03.2 (7 points: weights 2, padding 1, context 1, new state 2, no leaks 1).
  {
    exercise: 'attention-step',
    what: 'padding not masked',
    // Weights, and so context and state, differ in rows 1 and 2 (lengths 2 and 1); the padding
    // test sees non-zero weights: 0.
    code: `${ATTENTION_STEP}
      exports.attentionStep = (...a) => tf.tidy(() => step(...a, false, -1, false));`,
    earned: 0,
    names: [/padding is not masked/, /must be exactly 0/],
  },
  {
    exercise: 'attention-step',
    what: 'softmax over the batch axis',
    // Rows do not sum to 1 and every output differs: 0.
    code: `${ATTENTION_STEP}
      exports.attentionStep = (...a) => tf.tidy(() => step(...a, true, 0, false));`,
    earned: 0,
    names: [/softmax runs over the wrong axis/, /sums to [\d.e-]+, not 1/],
  },
  {
    exercise: 'attention-step',
    what: 'weights returned from the new state s_i as the query',
    // Context and state come from the right weights (1 + 2) and the returned weights are still
    // a masked softmax (padding 1); the weights test and the leak test (it compares them) fail: 4.
    code: `${ATTENTION_STEP}
      exports.attentionStep = (...a) => tf.tidy(() => step(...a, true, -1, true));`,
    earned: 4,
    names: [/the query is the NEW state s_i/],
  },
  // 03.3 (5 points: staggered batch 2, maxLen 1, other ids 1, no leaks 1).
  {
    exercise: 'greedy-loop',
    what: 'keeps appending to finished examples',
    // Each case has an example that finishes before the others: 0.
    code: `${GREEDY}
      exports.greedyLoop = (d, src, bos, eos, maxLen) => loop(d, src, bos, eos, maxLen, 'after eos');`,
    earned: 0,
    names: [/is finished: keep feeding it, but add nothing more to its list/],
  },
  {
    exercise: 'greedy-loop',
    what: 'stops at the first example that produces the eos',
    code: `${GREEDY}
      exports.greedyLoop = (d, src, bos, eos, maxLen) => loop(d, src, bos, eos, maxLen, 'first eos');`,
    earned: 0,
    names: [/stopped too early: stop when EVERY example has produced the eos/],
  },
  {
    exercise: 'greedy-loop',
    what: 'feeds the bos at every step',
    code: `${GREEDY}
      exports.greedyLoop = (d, src, bos, eos, maxLen) => loop(d, src, bos, eos, maxLen, 'always bos');`,
    earned: 0,
    names: [/every step was fed the bos/],
  },
  {
    exercise: 'general-attention',
    what: "attends with the previous state (Bahdanau's query)",
    // Only the padding test passes (the weights are still masked): 1 of 7.
    code: `${LUONG_GENERAL}
      exports.generalAttention = (h, hp, m, l, wA, wC) => tf.tidy(() => general(h, hp, m, l, wA, wC, true));`,
    earned: 1,
    names: [/Luong attends with the CURRENT state h/],
    never: [/padding is not masked/],
  },
  {
    exercise: 'local-p',
    what: 'uses sigma = D',
    // Centres (2) and the zeros outside the window (1) are right; the weights are not: 3 of 7.
    code: `${LOCAL_P}
      exports.localPWeights = (h, sc, l, wP, vP, D) => tf.tidy(() => localP(h, sc, l, wP, vP, D, true, false));`,
    earned: 3,
    names: [/sigma = D \/ 2, not D/],
  },
  {
    exercise: 'local-p',
    what: 'does not cut the window at the valid length',
    // Only the centres are right (rows of length 2 and 1 get weight at padding): 2 of 7.
    code: `${LOCAL_P}
      exports.localPWeights = (h, sc, l, wP, vP, D) => tf.tidy(() => localP(h, sc, l, wP, vP, D, false, true));`,
    earned: 2,
    names: [/not truncated at the valid length/, /outside the window or at padding/],
  },
  {
    exercise: 'beam-step',
    what: 'ranks by raw log-probabilities (no length normalisation)',
    // The alpha = 0 cases pass (2 + 2); alpha = 1 and alpha = 0.6 fail: 4 of 7.
    code: `exports.beamStep = (beams, lp, k, eos, alpha) => {
      const c = [];
      beams.forEach((b, i) => lp[i].forEach((x, v) => { if (x > -Infinity) c.push({ tokens: [...b.tokens, v], logProb: b.logProb + x, parent: i, score: b.logProb + x }); }));
      c.sort((a, b) => b.score - a.score);
      const live = [], finished = [];
      for (let r = 0; r < c.length && live.length < k; r++) {
        if (c[r].tokens[c[r].tokens.length - 1] === eos) { if (r < k) finished.push(c[r]); } else live.push(c[r]);
      }
      return { live, finished };
    };`,
    earned: 4,
    names: [/no length normalisation/],
  },
];
describe('feedback names the mistake, and trivial answers earn what they deserve', function () {
  this.timeout(120_000);
  const specs = loadSpecs(path.join(ROOT, 'graded'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wrong-answers-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  ROWS.forEach((row, i) => {
    it(`${row.exercise}: ${row.what} earns ${row.earned}`, () => {
      const spec = specs.find((s) => s.exercise === row.exercise);
      assert.ok(spec, `no graded exercise ${row.exercise}`);
      const dir = path.join(tmp, String(i));
      fs.mkdirSync(path.join(dir, spec.chapter), { recursive: true });
      fs.writeFileSync(
        path.join(dir, spec.chapter, spec.file),
        `const tf = require(${TF});\n${row.code}\n`,
      );
      const before = tf.memory().numTensors;
      const result = gradeExercise(spec, dir);
      assert.equal(tf.memory().numTensors, before, 'grading leaked tensors');
      const failed = result.tests.filter((t) => !t.passed);
      const report = result.tests
        .map(
          (t) => `${t.passed ? 'pass' : 'FAIL'} ${t.earned}/${t.points} ${t.name}\n  ${t.feedback}`,
        )
        .join('\n');
      assert.equal(result.earned, row.earned, report);
      for (const name of row.names ?? [])
        assert.ok(
          failed.some((t) => name.test(t.feedback)),
          `no feedback matches ${name}:\n${report}`,
        );
      for (const wrong of row.never ?? [])
        for (const t of failed) assert.doesNotMatch(t.feedback, wrong, `${t.name}: ${t.feedback}`);
    });
  });
});

describe('diagnoseWeights (the direct checks behind the hints)', () => {
  const t = (x: number[][]) => tf.tensor2d(x);

  it('names rows that do not sum to 1, with the numbers', () => {
    tf.tidy(() => {
      const expected = t([
        [0.5, 0.5],
        [0.3, 0.7],
      ]);
      const got = t([
        [0.5, 0.5],
        [1, 1.7],
      ]);
      assert.equal(
        diagnoseWeights(got, expected),
        'rows must sum to 1 over the keys (the last axis): row [1] sums to 2.7',
      );
    });
  });

  it('names normalisation along the wrong axis, a transposed shape, NaN and negative weights', () => {
    tf.tidy(() => {
      // Right: each row of [2, 3] sums to 1. Wrong: each column sums to 1 instead.
      const expected = t([
        [0.2, 0.3, 0.5],
        [0.6, 0.2, 0.2],
      ]);
      const columns = t([
        [0.25, 0.6, 0.7],
        [0.75, 0.4, 0.3],
      ]);
      assert.match(diagnoseWeights(columns, expected) ?? '', /sum to 1 along axis 0 \(size 2\)/);
      assert.match(
        diagnoseWeights(expected.transpose(), expected) ?? '',
        /shape \[3, 2\] is the expected \[2, 3\] with the last two axes swapped/,
      );
      const nan = t([
        [0.2, NaN, 0.5],
        [0.6, 0.2, 0.2],
      ]);
      assert.equal(
        diagnoseWeights(nan, expected, { nonFinite: 'it overflowed' }),
        'weight [0, 1] is NaN (expected 0.3): it overflowed',
      );
      const negative = t([
        [0.2, 0.9, -0.1],
        [0.6, 0.2, 0.2],
      ]);
      assert.equal(
        diagnoseWeights(negative, expected),
        'weight [0, 2] is -0.1: attention weights are never negative',
      );
    });
  });

  it('prefers a known mistake, says nothing when right, and checks its argument', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const scores = t([[1, 2, 3]]);
      const expected = tf.softmax(tf.div(scores, 2));
      const mistakes = [{ result: () => tf.softmax(scores), message: 'not scaled' }];
      assert.equal(diagnoseWeights(tf.softmax(scores), expected, { mistakes }), 'not scaled');
      assert.equal(diagnoseWeights(expected.clone(), expected, { mistakes }), undefined);
      assert.equal(diagnoseWeights([[0.5, 0.5]], expected), undefined);
    });
    assert.equal(tf.memory().numTensors, before, 'diagnoseWeights leaked tensors');
    assert.throws(
      () => tf.tidy(() => diagnoseWeights(tf.zeros([2]), [0.5, 0.5] as unknown as tf.Tensor)),
      /diagnoseWeights: expected must be a tf\.Tensor of rank >= 1, got object/,
    );
  });
});
