/**
 * Seeded randomness. Every generator, initialiser and test in the course takes a seed, so that a
 * notebook prints the same numbers on every machine and a test failure can be replayed.
 */

/** A small seeded random-number generator (mulberry32): fast, 32-bit state, good enough for data. */
export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Uniform integer in [lo, hi). */
  int(lo: number, hi: number): number;
  /** One element of a non-empty array, chosen uniformly. */
  pick<T>(items: readonly T[]): T;
}

/** Creates a generator; the same `seed` always gives the same sequence. */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new RangeError(`seed: expected an integer, got ${seed}`);
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal() {
      const u = Math.max(uniform(), Number.MIN_VALUE);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    },
    int(lo, hi) {
      if (!(hi > lo)) throw new RangeError(`int: expected hi > lo, got lo=${lo}, hi=${hi}`);
      return lo + Math.floor(uniform() * (hi - lo));
    },
    pick(items) {
      if (items.length === 0) throw new RangeError('pick: expected a non-empty array, got []');
      return items[Math.floor(uniform() * items.length)];
    },
  };
}

/**
 * Derives an independent seed for a named part of a model from a base seed, so that adding a
 * layer does not shift the initial weights of every other layer.
 */
export function deriveSeed(seed: number, label: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A copy of `items` in a seeded random order (Fisher-Yates with `createRng(seed)`): the same seed
 * always gives the same order.
 */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  if (!Array.isArray(items)) {
    throw new TypeError(`shuffled: items: expected an array, got ${typeof items}`);
  }
  const rng = createRng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
