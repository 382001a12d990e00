import * as assert from 'node:assert/strict';
import {
  constant,
  scheduleChart,
  warmupCosine,
  warmupInverseSqrt,
} from '../../src/train/schedules';

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: got ${actual}, expected ${expected}`);
}

describe('learning-rate schedules', () => {
  it('constant gives the same rate at every step', () => {
    const s = constant(0.1);
    for (const step of [1, 2, 1000]) assert.equal(s(step), 0.1);
  });

  it("warmupInverseSqrt follows the paper's d^-0.5 min(s^-0.5, s w^-1.5), by hand", () => {
    // d = 16, w = 4: lr(s) = 0.25 * min(1/sqrt(s), s/8).
    const s = warmupInverseSqrt({ warmup: 4, dModel: 16 });
    close(s(1), 0.25 * 0.125, 'step 1');
    close(s(2), 0.25 * 0.25, 'step 2');
    close(s(4), 0.25 * 0.5, 'step 4 (the peak)');
    close(s(16), 0.25 * 0.25, 'step 16');
  });

  it('warmupInverseSqrt with a peak reaches it at the end of the warm-up', () => {
    const s = warmupInverseSqrt({ warmup: 4, peak: 1 });
    close(s(2), 0.5, 'step 2');
    close(s(4), 1, 'step 4');
    close(s(16), 0.5, 'step 16');
    close(s(100), 0.2, 'step 100');
  });

  it('warmupCosine rises linearly, then follows half a cosine down to min, then stays', () => {
    const s = warmupCosine({ warmup: 2, total: 6, peak: 1, min: 0.1 });
    close(s(1), 0.5, 'step 1');
    close(s(2), 1, 'step 2');
    // (3 - 2) / 4 of the way: 0.1 + 0.9 (1 + cos(pi/4)) / 2.
    close(s(3), 0.1 + 0.45 * (1 + Math.SQRT1_2), 'step 3');
    close(s(4), 0.55, 'step 4 (half-way)');
    close(s(6), 0.1, 'step 6');
    close(s(50), 0.1, 'step 50');
    const noWarmup = warmupCosine({ warmup: 0, total: 2, peak: 2 });
    close(noWarmup(1), 1, 'no warm-up, step 1');
    close(noWarmup(2), 0, 'no warm-up, step 2');
  });

  it('scheduleChart plots steps 1..n against the rates', () => {
    const fig = scheduleChart(warmupInverseSqrt({ warmup: 2, peak: 1 }), 4);
    const panel = fig.panels[0];
    assert.equal(panel.kind, 'lines');
    if (panel.kind !== 'lines') return;
    assert.deepEqual(panel.series[0].x, [1, 2, 3, 4]);
    const y = panel.series[0].y;
    [0.5, 1, Math.sqrt(2 / 3), Math.sqrt(0.5)].forEach((v, i) => close(y[i], v, `y[${i}]`));
  });

  it('names the argument in its errors', () => {
    assert.throws(() => constant(0), /lr: expected a finite number > 0, got number 0/);
    assert.throws(() => constant(0.1)(0), /step: expected an integer >= 1, got number 0/);
    assert.throws(
      () => warmupInverseSqrt({ warmup: 4 }),
      /warmupInverseSqrt: expected exactly one of dModel and peak/,
    );
    assert.throws(
      () => warmupInverseSqrt({ warmup: 4, dModel: 16, peak: 1 }),
      /expected exactly one of dModel and peak/,
    );
    assert.throws(
      () => warmupInverseSqrt({ warmup: 0, peak: 1 }),
      /warmup: expected an integer >= 1, got number 0/,
    );
    assert.throws(
      () => warmupCosine({ warmup: 5, total: 5, peak: 1 }),
      /total: expected an integer >= 6, got number 5/,
    );
    assert.throws(
      () => warmupCosine({ warmup: 1, total: 5, peak: 1, min: 2 }),
      /min: expected a number in \[0, 1\] \(the peak\), got number 2/,
    );
    assert.throws(() => warmupCosine(null as never), /warmupCosine: expected an options object/);
    assert.throws(() => scheduleChart(constant(1), 0), /steps: expected an integer >= 1/);
    assert.throws(
      () => scheduleChart(() => -1, 3),
      /schedule: expected a finite number >= 0 at step 1, got number -1/,
    );
  });
});
