import * as assert from 'node:assert/strict';
import {
  cueStrength,
  cueWeights,
  simulateCueing,
  type CueCondition,
} from '../../src/experiments/cueing';
import { expectNoLeak } from '../helpers/tensors';

const close = (a: number, b: number, tol = 1e-5, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);
const LONG = 1e6; // an SOA long enough for every time course to settle

describe("Posner's cueing paradigm (cueing.ts)", () => {
  it('a settled endogenous cue weights the cued location by its validity (2 locations, v = 0.8)', () => {
    // score ln 4 on the cued location: softmax gives 4 / (4 + 1) = 0.8 there, 0.2 elsewhere.
    close(cueStrength('endogenous', LONG), Math.log(4), 1e-9);
    close(cueWeights('endogenous', 'valid', LONG).target, 0.8, 1e-5, 'valid');
    close(cueWeights('endogenous', 'invalid', LONG).target, 0.2, 1e-5, 'invalid');
    close(cueWeights('endogenous', 'neutral', LONG).target, 0.5, 1e-6, 'neutral');
  });

  it('with 4 locations and v = 0.7 the weights are the posterior: 0.7 cued, 0.1 each other place', () => {
    // ln(0.7 * 3 / 0.3) = ln 7: the cued location gets 7 / (7 + 3).
    const o = { locations: 4, validity: 0.7 };
    const valid = cueWeights('endogenous', 'valid', LONG, o);
    close(valid.target, 0.7);
    close(
      valid.weights.reduce((a, w) => a + w, 0),
      1,
    );
    const invalid = cueWeights('endogenous', 'invalid', LONG, o);
    close(invalid.target, 0.1);
    close(invalid.weights[1], 0.7);
    close(cueWeights('endogenous', 'neutral', LONG, o).target, 0.25);
  });

  it('the exogenous pull rises and fades: 2 (1 - e^-2) e^(-1/3) = 1.2391 at 100 ms, 0 at 0 ms', () => {
    close(cueStrength('exogenous', 0), 0, 1e-12);
    close(cueStrength('exogenous', 100), 2 * (1 - Math.exp(-2)) * Math.exp(-1 / 3), 1e-9);
    // it goes through the flash feature of the key: score = strength on the flashed location
    const w = cueWeights('exogenous', 'valid', 100);
    close(w.scores[0], 1.239115, 1e-5);
    close(w.scores[1], 0, 1e-9);
    close(w.target, 1 / (1 + Math.exp(-1.239115)), 1e-5);
    // automatic: the same whatever the cue's validity
    close(cueStrength('exogenous', 100, { validity: 0.55 }), cueStrength('exogenous', 100));
    assert.ok(
      cueStrength('endogenous', LONG, { validity: 0.55 }) < cueStrength('endogenous', LONG),
    );
  });

  it('without noise, reaction times follow base + shift (1 - a): 290, 350 and 410 ms at v = 0.8', () => {
    const [p] = simulateCueing({
      kind: 'endogenous',
      soaMs: [LONG],
      trials: 3,
      noiseMs: 0,
      seed: 1,
    });
    close(p.validMs, 250 + 200 * 0.2, 1e-3);
    close(p.neutralMs, 250 + 200 * 0.5, 1e-3);
    close(p.invalidMs, 250 + 200 * 0.8, 1e-3);
    close(p.benefitMs, 60, 1e-3);
    close(p.costMs, 60, 1e-3);
  });

  it('exogenous orienting wins early and endogenous late; both give a benefit and a cost', () => {
    const run = (kind: 'exogenous' | 'endogenous') =>
      simulateCueing({ kind, soaMs: [100, 800], trials: 1, noiseMs: 0, seed: 1 });
    const [exo100, exo800] = run('exogenous');
    const [endo100, endo800] = run('endogenous');
    assert.ok(exo100.benefitMs > endo100.benefitMs);
    assert.ok(endo800.benefitMs > exo800.benefitMs);
    assert.ok(exo800.benefitMs < exo100.benefitMs, 'the flash fades');
    for (const p of [exo100, exo800, endo100, endo800]) {
      assert.ok(p.benefitMs > 0 && p.costMs > 0);
    }
  });

  it('is deterministic for a seed, and the noise averages out', () => {
    const opts = { kind: 'endogenous' as const, soaMs: [LONG], trials: 4000, seed: 7 };
    assert.deepEqual(simulateCueing(opts), simulateCueing(opts));
    assert.notDeepEqual(simulateCueing(opts), simulateCueing({ ...opts, seed: 8 }));
    // standard error 30 / sqrt(4000) = 0.47 ms: within 3 ms of the noiseless 290 ms
    close(simulateCueing(opts)[0].validMs, 290, 3);
  });

  it('frees every tensor it makes', async () => {
    await expectNoLeak(() => cueWeights('exogenous', 'invalid', 150, { locations: 3 }));
    await expectNoLeak(() =>
      simulateCueing({ kind: 'exogenous', soaMs: [0, 50, 400], trials: 10, seed: 2 }),
    );
  });

  it('names the argument, what was expected and what it got', () => {
    assert.throws(
      () => cueStrength('spatial' as 'exogenous', 10),
      /kind: expected 'exogenous' or 'endogenous', got spatial/,
    );
    assert.throws(
      () => cueStrength('exogenous', -5),
      /soaMs: expected a finite number >= 0, got -5/,
    );
    assert.throws(
      () => cueWeights('endogenous', 'late' as CueCondition, 10),
      /condition: expected 'valid', 'invalid' or 'neutral', got late/,
    );
    assert.throws(
      () => cueStrength('endogenous', 10, { validity: 0.5 }),
      /validity: expected a finite number in \(0\.5, 1\), got 0\.5/,
    );
    assert.throws(() => cueStrength('endogenous', 10, { locations: 1 }), /locations/);
    assert.throws(
      () => simulateCueing({ kind: 'exogenous', soaMs: [], trials: 1, seed: 1 }),
      /soaMs: expected a non-empty array/,
    );
    assert.throws(
      () => simulateCueing({ kind: 'exogenous', soaMs: [10], trials: 0, seed: 1 }),
      /trials/,
    );
  });
});
