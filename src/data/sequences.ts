/**
 * A task whose input length you dial, to measure the fixed-vector bottleneck (the analogue of
 * Bahdanau et al. 2014, Figure 2, where the encoder-decoder without attention collapses as
 * sentences grow).
 *
 * The default task is **copying a random digit string** (`'4071'` -> `'4071'`); `'reverse'`
 * writes it backwards. Copying is chosen because:
 * - a decoder without attention must rebuild every digit from one summary vector: `n` random
 *   digits carry `n log2(10) ~ 3.3 n` bits, which a vector of fixed width cannot keep once `n`
 *   grows, and in a left-to-right summary the first digit to write is the one read longest ago.
 *   Accuracy therefore falls with length, and further past the lengths seen in training;
 * - with attention, output `i` only needs input `i`: the alignment is the diagonal, the same
 *   monotonic alignment as in the paper's English-French figures, and each step's work does not
 *   grow with `n`;
 * - the answer is unique and checkable, the data is unlimited and seeded, and nothing about
 *   language has to be learned first, so the curve shows the bottleneck and nothing else.
 * Reversal is the easy case for a plain encoder-decoder (the first output is the last input, the
 * trick of Sutskever et al. 2014); it is offered for comparison.
 */
import { createRng } from '../core/random';
import { checkInt } from '../core/shapes';
import { CharVocab } from './vocab';

/** The two length-controlled tasks. */
export type LengthTaskKind = 'copy' | 'reverse';

/** One example of a sequence task. */
export interface SequencePair {
  /** The input string. */
  source: string;
  /** The output string the model must write. */
  target: string;
}

/** Options of `makeLengthTask`. */
export interface LengthTaskOptions {
  /** `'copy'` (default) or `'reverse'`. */
  task?: LengthTaskKind;
  /** Symbols of the strings, each once. Defaults to the ten digits. */
  alphabet?: string;
  /** Shortest and longest training length (inclusive), drawn uniformly. Defaults to `[4, 30]`. */
  trainLengths?: readonly [number, number];
  /** Number of training examples. Defaults to 20,000. */
  trainSize?: number;
  /** Lengths of the test sets, which may exceed the training range. Defaults to
   * `[5, 10, 15, ..., 50]`. Each must be >= 1 and <= 200. */
  testLengths?: readonly number[];
  /** Test examples per length. Defaults to 100. */
  testPerLength?: number;
  /** Seed. Defaults to 0. */
  seed?: number;
}

/** The task's data: training pairs, one test set per length, the shared vocabulary. */
export interface LengthTask {
  /** Which task. */
  task: LengthTaskKind;
  /** Training pairs, lengths uniform in `trainLengths`. */
  train: SequencePair[];
  /** One test set per entry of `testLengths`, in that order; no test source occurs in `train`. */
  test: { length: number; pairs: SequencePair[] }[];
  /** The training length range, inclusive. */
  trainLengths: readonly [number, number];
  /** Vocabulary of sources and targets (the alphabet plus `PAD`/`BOS`/`EOS`). */
  vocab: CharVocab;
}

/** The target of a source under a task. */
export function lengthTaskTarget(source: string, task: LengthTaskKind = 'copy'): string {
  if (typeof source !== 'string') {
    throw new TypeError(`lengthTaskTarget: source: expected a string, got ${typeof source}`);
  }
  if (task === 'copy') return source;
  if (task === 'reverse') return Array.from(source).reverse().join('');
  throw new RangeError(
    `lengthTaskTarget: task: expected 'copy' or 'reverse', got ${JSON.stringify(task)}`,
  );
}

/**
 * Random strings of dialed length for the bottleneck experiment: training lengths drawn
 * uniformly from `trainLengths`, and test sets of exactly each of `testLengths` (longer ones
 * test lengths never seen in training). A test string never equals a training string. Throws
 * when a length has too few distinct strings to fill its test set (e.g. 100 strings of length 2
 * over digits).
 *
 * ```ts
 * const task = makeLengthTask({ trainLengths: [4, 30], testLengths: [10, 30, 50], seed: 1 });
 * task.test[2].pairs[0].source.length; // 50
 * ```
 */
export function makeLengthTask(opts: LengthTaskOptions = {}): LengthTask {
  const name = 'makeLengthTask';
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`${name}: options: expected an object, got ${String(opts)}`);
  }
  const {
    task = 'copy',
    alphabet = '0123456789',
    trainLengths = [4, 30] as const,
    trainSize = 20000,
    testLengths = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50],
    testPerLength = 100,
    seed = 0,
  } = opts;
  lengthTaskTarget('', task);
  const vocab = new CharVocab(alphabet);
  const symbols = vocab.chars;
  if (!Array.isArray(trainLengths) || trainLengths.length !== 2) {
    throw new TypeError(
      `${name}: trainLengths: expected [min, max], got ${JSON.stringify(trainLengths)}`,
    );
  }
  const [minLen, maxLen] = trainLengths;
  checkInt(minLen, `${name}: trainLengths[0]`, 1, 200);
  checkInt(maxLen, `${name}: trainLengths[1]`, minLen, 200);
  checkInt(trainSize, `${name}: trainSize`, 1);
  if (!Array.isArray(testLengths)) {
    throw new TypeError(
      `${name}: testLengths: expected an array of lengths, got ${typeof testLengths}`,
    );
  }
  testLengths.forEach((n, i) => checkInt(n, `${name}: testLengths[${i}]`, 1, 200));
  checkInt(testPerLength, `${name}: testPerLength`, 0);
  checkInt(seed, `${name}: seed`, 0);
  // Rejection below must be able to finish: the test strings of a length are distinct and
  // distinct from training strings, so they need room.
  for (const n of testLengths) {
    const room = Math.pow(symbols.length, n);
    if (room < 4 * testPerLength) {
      throw new RangeError(
        `${name}: testLengths: length ${n} has only ${room} distinct strings over ${symbols.length} symbols, too few for ${testPerLength} test examples distinct from training (need >= ${4 * testPerLength})`,
      );
    }
  }

  const rng = createRng(seed);
  const randomString = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += symbols[rng.int(0, symbols.length)];
    return s;
  };
  const pair = (source: string): SequencePair => ({
    source,
    target: lengthTaskTarget(source, task),
  });

  const train: SequencePair[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < trainSize; i++) {
    const s = randomString(rng.int(minLen, maxLen + 1));
    seen.add(s);
    train.push(pair(s));
  }
  const test = testLengths.map((length) => {
    const pairs: SequencePair[] = [];
    for (let tries = 0; pairs.length < testPerLength; tries++) {
      if (tries > 100 * testPerLength + 1000) {
        throw new RangeError(
          `${name}: testLengths: could not draw ${testPerLength} strings of length ${length} unseen in training (training covers most of them); lower trainSize or testPerLength, or test longer strings`,
        );
      }
      const s = randomString(length);
      if (seen.has(s)) continue;
      seen.add(s);
      pairs.push(pair(s));
    }
    return { length, pairs };
  });
  return { task, train, test, trainLengths: [minLen, maxLen], vocab };
}
