/**
 * A small translation task with real word reordering: numbers written in English words into
 * German words (`"ninety seven"` -> `"sieben und neunzig"`), the translation data of chapter 06.
 * Generated, not downloaded: deterministic, offline, seeded.
 *
 * - **Range**: 0 to 999,999 (`NUMBER_MAX`).
 * - **English** (source, one form): American style without "and" or hyphens, one word per token:
 *   `"two thousand twenty one"`, `"one hundred one"`, `"zero"`.
 * - **German** (target): German writes numbers below a million as one compound
 *   (`siebenundneunzig`, `zweitausendeinundzwanzig`). To make the reordering visible at the word
 *   level, compounds are split into their parts, as they are spoken: `"sieben und neunzig"`,
 *   `"zwei tausend ein und zwanzig"`. The teens (`dreizehn` ... `neunzehn`) and the tens
 *   (`zwanzig` ... `neunzig`) stay whole words. Units come BEFORE tens, joined by `und` (English
 *   says them the other way round); hundreds and thousands keep the English order.
 * - **"eins" and "ein"**: a final 1 is `eins` (`"hundert eins"`, 101); inside a compound it is
 *   `ein` (`"ein und zwanzig"`, 21; `"hundert ein tausend"`, 101,000).
 * - **More than one correct translation**: German may say `hundert` or `einhundert` for 100, and
 *   `tausend` or `eintausend` for 1,000 (both are standard). So every hundreds group whose digit is
 *   1 and a thousands multiplier of exactly 1 may take an optional `ein`: 101 has two
 *   translations, 1,100 four (`"tausend hundert"`, `"tausend ein hundert"`, `"ein tausend
 *   hundert"`, `"ein tausend ein hundert"`), up to four in all. `germanNumberForms` lists them
 *   (the short form first) and every pair carries them as `references`, for BLEU with several
 *   references. These are optional words, not different word orders: German number words have
 *   one order.
 * - **Targets**: the short form (no optional `ein`) by default, or, with `targetForm: 'mixed'`,
 *   one of the forms drawn per example (seeded), so the model sees both ways and a beam can hold
 *   both.
 * - **Splits** by number (`numberSplits`): validation and test numbers never occur in training.
 *   Training holds every number 0-99 (the words and the unit-before-ten order the others are made
 *   of) and numbers drawn from 100-999,999; validation and test are drawn from 100-999,999. Each
 *   draw picks a number of digits (3 to 6) uniformly, then a number of that length, so short
 *   numbers are not drowned by the 900,000 six-digit ones.
 */
import { createRng, deriveSeed, shuffled } from '../core/random';
import { checkInt } from '../core/shapes';
import { WordVocab } from './vocab';

/** The largest number of the task. */
export const NUMBER_MAX = 999_999;

const EN_ONES = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const EN_TENS = [
  '',
  '',
  'twenty',
  'thirty',
  'forty',
  'fifty',
  'sixty',
  'seventy',
  'eighty',
  'ninety',
];

const DE_ONES = [
  'null',
  'eins',
  'zwei',
  'drei',
  'vier',
  'fünf',
  'sechs',
  'sieben',
  'acht',
  'neun',
  'zehn',
  'elf',
  'zwölf',
  'dreizehn',
  'vierzehn',
  'fünfzehn',
  'sechzehn',
  'siebzehn',
  'achtzehn',
  'neunzehn',
];
const DE_TENS = [
  '',
  '',
  'zwanzig',
  'dreißig',
  'vierzig',
  'fünfzig',
  'sechzig',
  'siebzig',
  'achtzig',
  'neunzig',
];

function checkNumber(n: unknown, name: string): number {
  return checkInt(n, name, 0, NUMBER_MAX);
}

/** English words of 1..999. */
function englishBelow1000(k: number): string[] {
  const words: string[] = [];
  const h = Math.floor(k / 100);
  const r = k % 100;
  if (h > 0) words.push(EN_ONES[h], 'hundred');
  if (r >= 20) {
    words.push(EN_TENS[Math.floor(r / 10)]);
    if (r % 10 > 0) words.push(EN_ONES[r % 10]);
  } else if (r > 0) {
    words.push(EN_ONES[r]);
  }
  return words;
}

/**
 * A number in English words, one form (no "and", no hyphens): `englishNumber(2021)` is
 * `'two thousand twenty one'`.
 */
export function englishNumber(n: number): string {
  checkNumber(n, 'englishNumber: n');
  if (n === 0) return 'zero';
  const thousands = Math.floor(n / 1000);
  const rest = n % 1000;
  const words: string[] = [];
  if (thousands > 0) words.push(...englishBelow1000(thousands), 'thousand');
  if (rest > 0) words.push(...englishBelow1000(rest));
  return words.join(' ');
}

/** Each element is a list of alternatives (word lists); a form picks one of each. */
type Slots = string[][][];

/** German slots of 1..999; `final`: this group ends the number (a last 1 is `eins`). */
function germanBelow1000(k: number, final: boolean): Slots {
  const slots: Slots = [];
  const h = Math.floor(k / 100);
  const r = k % 100;
  if (h === 1) slots.push([['hundert'], ['ein', 'hundert']]);
  else if (h > 1) slots.push([[DE_ONES[h], 'hundert']]);
  if (r === 1) slots.push([[final ? 'eins' : 'ein']]);
  else if (r > 1 && r < 20) slots.push([[DE_ONES[r]]]);
  else if (r >= 20) {
    const u = r % 10;
    const tens = DE_TENS[Math.floor(r / 10)];
    slots.push([u === 0 ? [tens] : [u === 1 ? 'ein' : DE_ONES[u], 'und', tens]]);
  }
  return slots;
}

function germanSlots(n: number): Slots {
  if (n === 0) return [[['null']]];
  const thousands = Math.floor(n / 1000);
  const rest = n % 1000;
  const slots: Slots = [];
  if (thousands === 1) slots.push([['tausend'], ['ein', 'tausend']]);
  else if (thousands > 1) slots.push(...germanBelow1000(thousands, false), [['tausend']]);
  if (rest > 0) slots.push(...germanBelow1000(rest, true));
  return slots;
}

/**
 * Every correct German translation of `n` in this task's word-level form, the short one first
 * (without the optional `ein` of `ein hundert` / `ein tausend`); one to four forms.
 *
 * ```ts
 * ah.germanNumberForms(97); // ['sieben und neunzig']
 * ah.germanNumberForms(101); // ['hundert eins', 'ein hundert eins']
 * ```
 */
export function germanNumberForms(n: number): string[] {
  checkNumber(n, 'germanNumberForms: n');
  let forms: string[][] = [[]];
  for (const alternatives of germanSlots(n)) {
    forms = forms.flatMap((f) => alternatives.map((alt) => [...f, ...alt]));
  }
  return forms.map((f) => f.join(' '));
}

/**
 * The short German translation of `n` (split into words): `germanNumber(2021)` is
 * `'zwei tausend ein und zwanzig'`, `germanNumber(100)` is `'hundert'`.
 */
export function germanNumber(n: number): string {
  checkNumber(n, 'germanNumber: n');
  return germanNumberForms(n)[0];
}

/** Every English word of the task, in a fixed order (the source vocabulary's words). */
export const NUMBER_SOURCE_WORDS: readonly string[] = Object.freeze([
  ...EN_ONES,
  ...EN_TENS.slice(2),
  'hundred',
  'thousand',
]);

/** Every German word of the task, in a fixed order (the target vocabulary's words). */
export const NUMBER_TARGET_WORDS: readonly string[] = Object.freeze([
  ...DE_ONES,
  'ein',
  ...DE_TENS.slice(2),
  'und',
  'hundert',
  'tausend',
]);

/** The word vocabularies of the task: English source, German target (fixed, data-independent). */
export function numberVocabs(): { source: WordVocab; target: WordVocab } {
  return { source: new WordVocab(NUMBER_SOURCE_WORDS), target: new WordVocab(NUMBER_TARGET_WORDS) };
}

/**
 * Most English words of a number: 9 (`"seven hundred seventy seven thousand seven hundred seventy
 * seven"`: at most 4 per group of three digits, plus `thousand`).
 */
export const NUMBER_MAX_SOURCE_WORDS = 9;

/**
 * Most German words of any form: 11 (`"sieben hundert sieben und siebzig tausend sieben hundert
 * sieben und siebzig"`: at most 5 per group, plus `tausend`). Greedy or beam decoding needs
 * `maxLen` = 12 (the `EOS` counts).
 */
export const NUMBER_MAX_TARGET_WORDS = 11;

/** Options of `numberSplits` and `makeNumberData`. */
export interface NumberSplitOptions {
  /** Seed of the draws. Defaults to 0. */
  seed?: number;
  /** Number of training numbers, at least 100 (every number 0-99 is in training). Defaults to 20,000. */
  trainSize?: number;
  /** Number of validation numbers. Defaults to 1,000. */
  validSize?: number;
  /** Number of test numbers. Defaults to 1,000. */
  testSize?: number;
}

/** Options of `makeNumberData`. */
export interface NumberDataOptions extends NumberSplitOptions {
  /**
   * `'short'` (default): every target is the short form (`germanNumber`). `'mixed'`: each
   * example's target is one of its forms, drawn with the seed.
   */
  targetForm?: 'short' | 'mixed';
}

/** Numbers dealt into three disjoint sets, each in increasing order. */
export interface NumberSplits {
  train: number[];
  valid: number[];
  test: number[];
}

/** Numbers drawn from 100-999,999 (see the top of the file): from 10^(d-1) to 10^d - 1. */
const DIGIT_RANGES: readonly (readonly [number, number])[] = [3, 4, 5, 6].map(
  (d) => [10 ** (d - 1), 10 ** d] as const,
);
const DRAW_POOL = NUMBER_MAX + 1 - 100;

function checkSplitOptions(opts: unknown, name: string): Required<NumberSplitOptions> {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(
      `${name}: options: expected an object { seed?, trainSize?, validSize?, testSize? }, got ${String(opts)}`,
    );
  }
  const o = opts as NumberSplitOptions;
  const seed = checkInt(o.seed ?? 0, `${name}: seed`, 0);
  const trainSize = checkInt(o.trainSize ?? 20_000, `${name}: trainSize`, 100);
  const validSize = checkInt(o.validSize ?? 1000, `${name}: validSize`, 0, DRAW_POOL);
  const testSize = checkInt(o.testSize ?? 1000, `${name}: testSize`, 0, DRAW_POOL - validSize);
  const maxTrain = 100 + DRAW_POOL - validSize - testSize;
  if (trainSize > maxTrain) {
    throw new RangeError(
      `${name}: trainSize: expected at most ${maxTrain} (0-99 and the numbers 100-${NUMBER_MAX} validation and test leave), got ${trainSize}`,
    );
  }
  return { seed, trainSize, validSize, testSize };
}

/**
 * Deals numbers into train / validation / test: no number is in two splits. Test is drawn first,
 * then validation, then the rest of training (after 0-99), each draw a number of digits 3-6
 * (uniform among those with numbers left) and then a number of that length not drawn before.
 */
export function numberSplits(opts: NumberSplitOptions = {}): NumberSplits {
  const { seed, trainSize, validSize, testSize } = checkSplitOptions(opts, 'numberSplits');
  const rng = createRng(deriveSeed(seed, 'number-splits'));
  const used = new Set<number>();
  const left = DIGIT_RANGES.map(([lo, hi]) => hi - lo);
  const draw = (count: number): number[] => {
    const out: number[] = [];
    while (out.length < count) {
      const open = left.flatMap((l, d) => (l > 0 ? [d] : []));
      const d = rng.pick(open);
      const [lo, hi] = DIGIT_RANGES[d];
      let n = rng.int(lo, hi);
      // Walk to the next unused number of this length (wrapping): ends, since one is left.
      while (used.has(n)) n = n + 1 < hi ? n + 1 : lo;
      used.add(n);
      left[d]--;
      out.push(n);
    }
    return out.sort((a, b) => a - b);
  };
  const test = draw(testSize);
  const valid = draw(validSize);
  const drawn = draw(trainSize - 100);
  const train = [...Array.from({ length: 100 }, (_, i) => i), ...drawn];
  return { train, valid, test };
}

/** One example of the number translation task. */
export interface NumberPair {
  /** English words, e.g. `'ninety seven'`. */
  source: string;
  /** The German target the model is trained on, e.g. `'sieben und neunzig'`. */
  target: string;
  /** Every correct German form (short first): the references of BLEU. */
  references: string[];
  /** The number. */
  value: number;
}

/** The number translation task, ready to batch (`seq2seqDataset`). */
export interface NumberData {
  /** Training pairs, in a seeded random order. */
  train: NumberPair[];
  /** Validation pairs, in a seeded random order. */
  valid: NumberPair[];
  /** Test pairs, in a seeded random order. */
  test: NumberPair[];
  /** English word vocabulary (`NUMBER_SOURCE_WORDS`). */
  sourceVocab: WordVocab;
  /** German word vocabulary (`NUMBER_TARGET_WORDS`). */
  targetVocab: WordVocab;
}

/**
 * The number translation task: `numberSplits`, each number as an English source, a German
 * target and all its German forms as references.
 *
 * ```ts
 * const data = ah.makeNumberData({ seed: 0 });
 * const train = ah.seq2seqDataset(data.train, { sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
 * const refs = ah.referenceStreams(data.test.map((p) => p.references)); // for ah.corpusBleu
 * ```
 */
export function makeNumberData(opts: NumberDataOptions = {}): NumberData {
  const name = 'makeNumberData';
  const split = checkSplitOptions(opts, name);
  const targetForm = opts.targetForm ?? 'short';
  if (targetForm !== 'short' && targetForm !== 'mixed') {
    throw new RangeError(
      `${name}: targetForm: expected 'short' or 'mixed', got ${JSON.stringify(targetForm)}`,
    );
  }
  const splits = numberSplits(split);
  const formRng = createRng(deriveSeed(split.seed, 'number-forms'));
  const pairs = (numbers: number[], label: string): NumberPair[] =>
    shuffled(numbers, deriveSeed(split.seed, label)).map((n) => {
      const references = germanNumberForms(n);
      const target = targetForm === 'short' ? references[0] : formRng.pick(references);
      return { source: englishNumber(n), target, references, value: n };
    });
  const { source, target } = numberVocabs();
  return {
    train: pairs(splits.train, 'number-train'),
    valid: pairs(splits.valid, 'number-valid'),
    test: pairs(splits.test, 'number-test'),
    sourceVocab: source,
    targetVocab: target,
  };
}
