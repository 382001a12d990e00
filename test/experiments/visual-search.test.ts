import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  expectedInspections,
  inspectionsUntilFound,
  searchSlope,
  simulateSearch,
} from '../../src/experiments/visual-search';

/** All orderings of 0..n-1. */
function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) =>
    Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
  );
}

describe('inspectionsUntilFound', () => {
  it("is the target's rank in decreasing priority", () => {
    assert.equal(inspectionsUntilFound([0.1, 0.9, 0.5], 1), 1);
    assert.equal(inspectionsUntilFound([0.1, 0.9, 0.5], 2), 2);
    assert.equal(inspectionsUntilFound([0.1, 0.9, 0.5], 0), 3);
  });

  it('breaks ties towards the lower index, and inspects everything without a target', () => {
    assert.equal(inspectionsUntilFound([1, 1, 1], 0), 1);
    assert.equal(inspectionsUntilFound([1, 1, 1], 2), 3);
    assert.equal(inspectionsUntilFound([0.3, 0.2, 0.9, 0.1], -1), 4);
  });

  it('rejects bad inputs by name', () => {
    assert.throws(
      () => inspectionsUntilFound([], 0),
      /priority: expected a non-empty array of numbers/,
    );
    assert.throws(
      () => inspectionsUntilFound([1, NaN], 0),
      /priority\[1\]: expected a number, got NaN/,
    );
    assert.throws(
      () => inspectionsUntilFound([1, 2], 2),
      /targetIndex: expected an integer in \[-1, 1\], got number 2/,
    );
  });
});

describe('expectedInspections', () => {
  it('is 1 for parallel search, (N + 1) / 2 serial with a target, N without', () => {
    assert.equal(expectedInspections(12, 'parallel'), 1);
    assert.equal(expectedInspections(12, 'serial'), 6.5);
    assert.equal(expectedInspections(12, 'serial', false), 12);
    assert.throws(
      () => expectedInspections(4, 'random' as never),
      /strategy: expected 'parallel' or 'serial', got random/,
    );
    assert.throws(
      () => expectedInspections(0, 'serial'),
      /setSize: expected an integer >= 1, got number 0/,
    );
  });

  it('equals the average over every random order of the items (enumerated)', () => {
    for (const n of [1, 3, 5]) {
      // Each permutation is an order of inspection; priority = position from the end.
      const perms = permutations(n);
      let total = 0;
      for (const order of perms) {
        const priority = order.map((pos) => n - pos);
        total += inspectionsUntilFound(priority, 0);
      }
      assert.equal(total / perms.length, expectedInspections(n, 'serial'));
    }
  });
});

describe('simulateSearch', () => {
  it('pop-out: the target is inspected first whatever the set size (flat cost)', () => {
    const c = simulateSearch({ kind: 'pop-out', setSizes: [5, 12, 30], trials: 200, seed: 1 });
    assert.deepEqual(c.meanInspected, [1, 1, 1]);
    assert.deepEqual(c.foundFirst, [1, 1, 1]);
    assert.deepEqual(c.setSizes, [5, 12, 30]);
  });

  it('conjunction with a target: (N + 1) / 2 items on average, within 3 standard errors', () => {
    const sizes = [6, 12, 24];
    const c = simulateSearch({ kind: 'conjunction', setSizes: sizes, trials: 1500, seed: 2 });
    sizes.forEach((n, i) => {
      const expected = expectedInspections(n, 'serial');
      const gap = Math.abs(c.meanInspected[i] - expected);
      assert.ok(
        gap < 3 * c.standardError[i],
        `N = ${n}: mean ${c.meanInspected[i]} vs (N + 1) / 2 = ${expected} (standard error ${c.standardError[i]})`,
      );
      // The standard error of a uniform rank on 1..N is sqrt((N^2 - 1) / 12 / trials).
      const se = Math.sqrt((n * n - 1) / 12 / 1500);
      assert.ok(
        Math.abs(c.standardError[i] - se) < 0.15 * se,
        `standard error ${c.standardError[i]} vs ${se}`,
      );
    });
    const slope = searchSlope(sizes, c.meanInspected);
    assert.ok(Math.abs(slope - 0.5) < 0.05, `slope ${slope}`);
  });

  it('conjunction without a target: all N items, and 0 found first', () => {
    const c = simulateSearch({
      kind: 'conjunction',
      setSizes: [6, 18],
      trials: 20,
      targetPresent: false,
      seed: 3,
    });
    assert.deepEqual(c.meanInspected, [6, 18]);
    assert.deepEqual(c.standardError, [0, 0]);
    assert.deepEqual(c.foundFirst, [0, 0]);
  });

  it('is deterministic for a seed and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const opts = { kind: 'conjunction' as const, setSizes: [8], trials: 50, seed: 9 };
    assert.deepEqual(simulateSearch(opts), simulateSearch(opts));
    assert.notDeepEqual(
      simulateSearch(opts).meanInspected,
      simulateSearch({ ...opts, seed: 10 }).meanInspected,
    );
    assert.equal(tf.memory().numTensors, before);
  });

  it('rejects bad options by name', () => {
    const base = { kind: 'pop-out' as const, setSizes: [4], trials: 5, seed: 1 };
    assert.throws(
      () => simulateSearch({ ...base, setSizes: [] }),
      /setSizes: expected a non-empty array of integers/,
    );
    assert.throws(
      () => simulateSearch({ ...base, setSizes: [1] }),
      /setSizes\[0\]: expected an integer >= 2, got number 1/,
    );
    assert.throws(
      () => simulateSearch({ ...base, trials: 0 }),
      /trials: expected an integer >= 1, got number 0/,
    );
    assert.throws(
      () => simulateSearch({ ...base, noise: -1 }),
      /noise: expected a finite number >= 0, got -1/,
    );
  });
});

describe('searchSlope', () => {
  it('is the least-squares slope', () => {
    assert.equal(searchSlope([1, 2, 3], [2, 4, 6]), 2);
    assert.equal(searchSlope([4, 8, 16], [1, 1, 1]), 0);
    // x - 1.5 = [-1.5, -0.5, 0.5, 1.5], y - 0.75 = [-0.65, -0.35, 0.35, 0.65]: 2.3 / 5
    assert.ok(Math.abs(searchSlope([0, 1, 2, 3], [0.1, 0.4, 1.1, 1.4]) - 0.46) < 1e-12);
    assert.throws(
      () => searchSlope([1], [1]),
      /searchSlope: expected x and y of equal length >= 2, got 1 and 1/,
    );
    assert.throws(() => searchSlope([2, 2], [1, 3]), /expected at least two different x values/);
  });
});
