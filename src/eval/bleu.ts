/**
 * BLEU (Papineni et al., 2002) computed exactly as sacreBLEU 2.x computes it, ported from its
 * source (github.com/mjpost/sacrebleu, v2.6.0: `sacrebleu/metrics/bleu.py`, `metrics/base.py`,
 * `metrics/helpers.py`, `tokenizers/tokenizer_13a.py`, `tokenizer_re.py`, `tokenizer_intl.py`,
 * `tokenizer_char.py`) and checked against its published test vectors (`test/eval/bleu.test.ts`).
 *
 * - **Tokenizer 13a** (mteval-v13a, the WMT default): removes `<skipped>`, joins words broken by
 *   `-` at a line end, unescapes `&quot; &amp; &lt; &gt;`, splits most ASCII punctuation off, `.`
 *   and `,` only when not between digits, `-` after a digit. `'` is NOT split (`wasn't` is one
 *   token).
 * - **Statistics per segment**: n-grams of orders 1..4; a hypothesis n-gram's count is clipped by
 *   its largest count in any one reference; the reference length is the one closest to the
 *   hypothesis length (ties: the shorter).
 * - **Corpus BLEU** sums the statistics of all segments and scores once (it is NOT the mean of
 *   sentence scores): `BP * exp(mean_n log p_n)`, `BP = exp(1 - r / c)` when `c < r`, else 1.
 * - **Smoothing** of zero counts: `exp` (default; the k-th order with no match gets precision
 *   `1 / (2^k * total)`), `floor` (zero matches count as `smoothValue`, default 0.1), `add-k`
 *   (adds `smoothValue`, default 1, to matches and totals of orders 2 and up), `none`.
 * - **Effective order** (default for `sentenceBleu`): orders with no n-gram in the hypothesis at
 *   all are left out of the mean instead of zeroing the score.
 *
 * - **A corpus with no 4-gram at all** (every hypothesis shorter than 4 tokens) scores 0 unless
 *   `effectiveOrder` is on: sacreBLEU's behaviour, kept.
 *
 * Scores are on sacreBLEU's scale, 0-100. Where this port and sacreBLEU could differ: lowercasing
 * (`toLowerCase` against Python's `str.lower`, equal outside rare special casings), the `intl`
 * tokenizer's Unicode version, and, unlike sacreBLEU (which `zip`s), a reference stream whose
 * length differs from the hypotheses' is an error here, not silently cut.
 */

/** Smoothing methods of sacreBLEU (Chen & Cherry 2014's methods 3, 1, 2, and none). */
export type BleuSmoothMethod = 'exp' | 'floor' | 'add-k' | 'none';

/**
 * Tokenizers: `13a` (the default, as WMT), `intl` (mteval-v14's international tokenizer: splits
 * Unicode punctuation and symbols), `char` (every character a token), `none` (whitespace only).
 * sacreBLEU's `zh`, `ja-mecab`, `ko-mecab` and `spm` tokenizers are not ported.
 */
export type BleuTokenizer = '13a' | 'intl' | 'char' | 'none';

/** Options of `corpusBleu` and `sentenceBleu` (sacreBLEU's `BLEU(...)` arguments). */
export interface BleuOptions {
  /** Lowercase hypotheses and references before tokenizing (signature `case:lc`). Default false. */
  lowercase?: boolean;
  /** Tokenizer. Default `'13a'`. */
  tokenize?: BleuTokenizer;
  /** Smoothing. Default `'exp'`. */
  smoothMethod?: BleuSmoothMethod;
  /** Value of `floor` (default 0.1) and `add-k` (default 1); ignored by `exp` and `none`. */
  smoothValue?: number;
  /** Largest n-gram order. Default 4. */
  maxNgramOrder?: number;
  /**
   * Leave orders with no hypothesis n-gram out of the mean. Default false for `corpusBleu`, true
   * for `sentenceBleu` (sacreBLEU's `use_effective_order=True` of `sentence_bleu`).
   */
  effectiveOrder?: boolean;
}

/** A BLEU result, with the fields of sacreBLEU's `BLEUScore`. */
export interface BleuScore {
  /** BLEU, 0-100. */
  score: number;
  /**
   * Matched (clipped) n-grams per order, 1..maxNgramOrder. With `add-k` the orders 2 and up
   * include the added `k`, as in sacreBLEU.
   */
  counts: number[];
  /** Hypothesis n-grams per order (with `add-k`, orders 2 and up include the added `k`). */
  totals: number[];
  /** Precisions per order in percent (after smoothing); 0 for orders not used. */
  precisions: number[];
  /** Brevity penalty. */
  bp: number;
  /** Total hypothesis length in tokens (sacreBLEU's `sys_len`). */
  sysLen: number;
  /** Total of the closest reference lengths (sacreBLEU's `ref_len`). */
  refLen: number;
  /** `sysLen / refLen` (0 when `refLen` is 0). */
  ratio: number;
  /** The reproducibility signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`. */
  signature: string;
  /** sacreBLEU's one-line report: `BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = ...)`. */
  toString(): string;
}

/** The smoothing values sacreBLEU uses when none is given (`BLEU.SMOOTH_DEFAULTS`). */
export const BLEU_SMOOTH_DEFAULTS: Readonly<Record<BleuSmoothMethod, number | null>> = {
  none: null,
  floor: 0.1,
  'add-k': 1,
  exp: null,
};

/**
 * The sacreBLEU version printed in signatures (`version:2.6.0`): the release whose source this
 * port follows (tag v2.6.0, commit f615c72) and whose BLEU tests it passes. The signature names
 * the computation, so a score printed here compares with sacreBLEU scores of the same signature;
 * BLEU with the 13a tokenizer has not changed since sacreBLEU 2.0.0 (its README still shows
 * `version:2.0.0` and the same scores).
 */
export const SACREBLEU_VERSION = '2.6.0';

const MAX_NGRAM_ORDER = 4;

/**
 * Python's `str.isspace()` characters: what `str.split()` and `str.rstrip()` cut on. JavaScript's
 * `\s` differs (it lacks U+001C-U+001F and U+0085 and has U+FEFF), so the class is spelled out.
 */
const PY_SPACE =
  '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPLIT = new RegExp(`[${PY_SPACE}]+`);
const PY_RSTRIP = new RegExp(`[${PY_SPACE}]+$`);

/** Python's `line.split()`: split on runs of whitespace, no empty tokens. */
function pySplit(line: string): string[] {
  return line.split(PY_SPLIT).filter((t) => t.length > 0);
}

/**
 * sacreBLEU's `TokenizerRegexp` (`tokenizer_re.py`), in order. Python `re.sub` and JavaScript
 * `replace(/.../g)` both replace non-overlapping matches left to right.
 */
const RE_RULES: readonly (readonly [RegExp, string])[] = [
  // Python: r'([\{-\~\[-\` -\&\(-\+\:-\@\/])' -> r' \1 ' (ranges {-~, [-`, space-&, (-+, :-@, /)
  [/([{-~[-` -&(-+:-@/])/g, ' $1 '],
  // period and comma unless preceded by a digit: r'([^0-9])([\.,])' -> r'\1 \2 '
  [/([^0-9])([.,])/g, '$1 $2 '],
  // period and comma unless followed by a digit: r'([\.,])([^0-9])' -> r' \1 \2'
  [/([.,])([^0-9])/g, ' $1 $2'],
  // dash when preceded by a digit: r'([0-9])(-)' -> r'\1 \2 '
  [/([0-9])(-)/g, '$1 $2 '],
];

function checkString(s: unknown, name: string): asserts s is string {
  if (typeof s !== 'string') {
    throw new TypeError(`${name}: expected a string, got ${s === null ? 'null' : typeof s}`);
  }
}

/**
 * The 13a tokenizer of sacreBLEU (mteval-v13a.pl): returns the tokens joined by single spaces.
 *
 * ```ts
 * ah.tokenize13a("It wasn't 3.5 &quot;km&quot;, was it?"); // 'It wasn\'t 3.5 " km " , was it ?'
 * ```
 */
export function tokenize13a(line: string): string {
  checkString(line, 'tokenize13a: line');
  let s = line.split('<skipped>').join('');
  s = s.split('-\n').join('');
  s = s.split('\n').join(' ');
  if (s.includes('&')) {
    s = s.split('&quot;').join('"');
    s = s.split('&amp;').join('&');
    s = s.split('&lt;').join('<');
    s = s.split('&gt;').join('>');
  }
  s = ` ${s} `;
  for (const [re, repl] of RE_RULES) s = s.replace(re, repl);
  return pySplit(s).join(' ');
}

/**
 * sacreBLEU's `TokenizerV14International` (`tokenizer_intl.py`, Python's `regex` module): Unicode
 * properties as JavaScript's `\p{...}` (the Unicode versions of the two engines may differ on
 * characters assigned recently).
 */
const INTL_RULES: readonly (readonly [RegExp, string])[] = [
  // punctuation preceded by a non-digit: r'(\P{N})(\p{P})' -> r'\1 \2 '
  [/(\P{N})(\p{P})/gu, '$1 $2 '],
  // punctuation followed by a non-digit: r'(\p{P})(\P{N})' -> r' \1 \2'
  [/(\p{P})(\P{N})/gu, ' $1 $2'],
  // symbols: r'(\p{S})' -> r' \1 '
  [/(\p{S})/gu, ' $1 '],
];

function tokenizeIntl(line: string): string {
  let s = line;
  for (const [re, repl] of INTL_RULES) s = s.replace(re, repl);
  return pySplit(s).join(' ');
}

function tokenizeWith(tokenizer: BleuTokenizer, line: string): string {
  if (tokenizer === '13a') return tokenize13a(line);
  if (tokenizer === 'intl') return tokenizeIntl(line);
  if (tokenizer === 'char') return Array.from(line).join(' ');
  return line;
}

const SMOOTH_METHODS: readonly BleuSmoothMethod[] = ['exp', 'floor', 'add-k', 'none'];
const TOKENIZERS: readonly BleuTokenizer[] = ['13a', 'intl', 'char', 'none'];
const OPTION_KEYS = [
  'lowercase',
  'tokenize',
  'smoothMethod',
  'smoothValue',
  'maxNgramOrder',
  'effectiveOrder',
];

type ResolvedOptions = Required<Omit<BleuOptions, 'smoothValue'>> & { smoothValue: number | null };

function resolveOptions(
  opts: unknown,
  name: string,
  effectiveDefault: boolean,
  onlyScoring = false,
): ResolvedOptions {
  if (opts === undefined) opts = {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(
      `${name}: opts: expected an options object { ${OPTION_KEYS.join(', ')} }, got ${opts === null ? 'null' : typeof opts}`,
    );
  }
  const o = opts as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new TypeError(
        `${name}: opts.${key}: unknown option (expected one of ${OPTION_KEYS.join(', ')})`,
      );
    }
    if (onlyScoring && (key === 'lowercase' || key === 'tokenize') && o[key] !== undefined) {
      throw new TypeError(`${name}: opts.${key}: not used when scoring statistics`);
    }
  }
  const bool = (key: string, dflt: boolean): boolean => {
    const v = o[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      throw new TypeError(`${name}: opts.${key}: expected a boolean, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const smoothMethod = o.smoothMethod ?? 'exp';
  if (!SMOOTH_METHODS.includes(smoothMethod as BleuSmoothMethod)) {
    throw new RangeError(
      `${name}: opts.smoothMethod: expected one of ${SMOOTH_METHODS.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(smoothMethod)}`,
    );
  }
  const tokenize = o.tokenize ?? '13a';
  if (!TOKENIZERS.includes(tokenize as BleuTokenizer)) {
    throw new RangeError(
      `${name}: opts.tokenize: expected one of ${TOKENIZERS.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(tokenize)}`,
    );
  }
  let smoothValue: number | null = null;
  if (o.smoothValue !== undefined && o.smoothValue !== null) {
    const v = o.smoothValue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new RangeError(
        `${name}: opts.smoothValue: expected a finite number >= 0, got ${JSON.stringify(v)}`,
      );
    }
    smoothValue = v;
  }
  const order = o.maxNgramOrder ?? MAX_NGRAM_ORDER;
  if (typeof order !== 'number' || !Number.isInteger(order) || order < 1) {
    throw new RangeError(
      `${name}: opts.maxNgramOrder: expected an integer >= 1, got ${JSON.stringify(order)}`,
    );
  }
  return {
    lowercase: bool('lowercase', false),
    tokenize: tokenize as BleuTokenizer,
    smoothMethod: smoothMethod as BleuSmoothMethod,
    smoothValue,
    maxNgramOrder: order,
    effectiveOrder: bool('effectiveOrder', effectiveDefault),
  };
}

/**
 * sacreBLEU's `BLEUSignature`: `nrefs|case|eff|tok|smooth|version`, the smoothing value (if the
 * method has one) as Python's `f'{x:.2f}'` (`toFixed(2)` agrees except on exact binary ties).
 */
function signature(o: ResolvedOptions, nrefs: number | 'var' | '?'): string {
  let smooth: string = o.smoothMethod;
  const dflt = BLEU_SMOOTH_DEFAULTS[o.smoothMethod];
  if (dflt !== null) smooth += `[${(o.smoothValue ?? dflt).toFixed(2)}]`;
  return [
    `nrefs:${nrefs}`,
    `case:${o.lowercase ? 'lc' : 'mixed'}`,
    `eff:${o.effectiveOrder ? 'yes' : 'no'}`,
    `tok:${o.tokenize}`,
    `smooth:${smooth}`,
    `version:${SACREBLEU_VERSION}`,
  ].join('|');
}

/** Python's `my_log`: log, with log(0) floored to -9999999999. */
function myLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

function makeScore(
  score: number,
  counts: number[],
  totals: number[],
  precisions: number[],
  bp: number,
  sysLen: number,
  refLen: number,
  sig: string,
): BleuScore {
  const ratio = refLen ? sysLen / refLen : 0;
  return {
    score,
    counts,
    totals,
    precisions,
    bp,
    sysLen,
    refLen,
    ratio,
    signature: sig,
    toString() {
      const prec = precisions.map((p) => p.toFixed(1)).join('/');
      return (
        `BLEU = ${score.toFixed(2)} ${prec} (BP = ${bp.toFixed(3)} ratio = ${ratio.toFixed(3)} ` +
        `hyp_len = ${sysLen} ref_len = ${refLen})`
      );
    },
  };
}

/** sacreBLEU's `BLEU.compute_bleu` on checked inputs (copies `correct`/`total`). */
function scoreStats(
  correctIn: readonly number[],
  totalIn: readonly number[],
  sysLen: number,
  refLen: number,
  o: ResolvedOptions,
  sig: string,
): BleuScore {
  const order = o.maxNgramOrder;
  const correct = [...correctIn];
  const total = [...totalIn];
  const smoothValue = o.smoothValue ?? BLEU_SMOOTH_DEFAULTS[o.smoothMethod] ?? 0;
  let bp = 1;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  const precisions = new Array<number>(order).fill(0);
  // Early stop if there are no matches (sacreBLEU #141).
  if (!correct.some((c) => c !== 0)) {
    return makeScore(0, correct, total, precisions, bp, sysLen, refLen, sig);
  }
  let smoothMteval = 1;
  let effOrder = order;
  for (let n = 1; n <= order; n++) {
    if (o.smoothMethod === 'add-k' && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (o.effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (o.smoothMethod === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (o.smoothMethod === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }
  let logSum = 0;
  for (let n = 0; n < effOrder; n++) logSum += myLog(precisions[n]);
  const score = bp * Math.exp(logSum / effOrder);
  return makeScore(score, correct, total, precisions, bp, sysLen, refLen, sig);
}

/** N-gram counts of orders 1..maxOrder of a tokenized line (keys: tokens joined by U+0001). */
function ngramCounts(tokens: readonly string[], maxOrder: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = `${n}\u0001${tokens.slice(i, i + n).join('\u0001')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** The reference length closest to `hypLen`; ties go to the shorter reference. */
function closestRefLen(hypLen: number, refLens: readonly number[]): number {
  let bestDiff = -1;
  let best = -1;
  for (const r of refLens) {
    const diff = Math.abs(hypLen - r);
    if (bestDiff === -1 || diff < bestDiff) {
      bestDiff = diff;
      best = r;
    } else if (diff === bestDiff && r < best) {
      best = r;
    }
  }
  return best;
}

function preprocess(line: string, o: ResolvedOptions): string[] {
  const s = o.lowercase ? line.toLowerCase() : line;
  return pySplit(tokenizeWith(o.tokenize, s.replace(PY_RSTRIP, '')));
}

function checkStringArray(x: unknown, name: string): asserts x is string[] {
  if (!Array.isArray(x) || x.length === 0) {
    throw new TypeError(
      `${name}: expected a non-empty array of strings, got ${Array.isArray(x) ? 'an empty array' : x === null ? 'null' : typeof x}`,
    );
  }
  x.forEach((s, i) => checkString(s, `${name}[${i}]`));
}

/** Shared body of `corpusBleu` and `sentenceBleu`. */
function bleuOfStreams(
  hypotheses: readonly string[],
  references: readonly (readonly (string | null)[])[],
  o: ResolvedOptions,
  name: string,
): BleuScore {
  const order = o.maxNgramOrder;
  const correct = new Array<number>(order).fill(0);
  const total = new Array<number>(order).fill(0);
  let sysLen = 0;
  let refLen = 0;
  const nrefsSeen = new Set<number>();
  hypotheses.forEach((hyp, i) => {
    const refs = references.map((stream) => stream[i]).filter((r): r is string => r !== null);
    if (refs.length === 0) {
      throw new RangeError(
        `${name}: references: segment ${i} has no reference (every stream holds null there)`,
      );
    }
    nrefsSeen.add(refs.length);
    // Reference n-grams: for each n-gram its largest count in any one reference.
    const refMax = new Map<string, number>();
    const refLens: number[] = [];
    for (const ref of refs) {
      const tokens = preprocess(ref, o);
      refLens.push(tokens.length);
      for (const [key, c] of ngramCounts(tokens, order)) {
        refMax.set(key, Math.max(refMax.get(key) ?? 0, c));
      }
    }
    const hypTokens = preprocess(hyp, o);
    sysLen += hypTokens.length;
    refLen += closestRefLen(hypTokens.length, refLens);
    for (const [key, c] of ngramCounts(hypTokens, order)) {
      const n = Number(key.slice(0, key.indexOf('\u0001')));
      total[n - 1] += c;
      correct[n - 1] += Math.min(c, refMax.get(key) ?? 0);
    }
  });
  const nrefs = nrefsSeen.size === 1 ? [...nrefsSeen][0] : 'var';
  return scoreStats(correct, total, sysLen, refLen, o, signature(o, nrefs));
}

/**
 * Corpus BLEU as sacreBLEU's `BLEU(**opts).corpus_score(hypotheses, references)`.
 *
 * `references` is a list of reference **streams**, each as long as `hypotheses`: stream `k`
 * holds the `k`-th reference of every segment. A `null` entry means "no `k`-th reference for this
 * segment" (the signature then says `nrefs:var`); an empty string is a reference of length 0.
 *
 * ```ts
 * const refs = [
 *   ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
 *   ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
 * ];
 * const hyps = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];
 * ah.corpusBleu(hyps, refs).toString();
 * // 'BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)'
 * ```
 */
export function corpusBleu(
  hypotheses: readonly string[],
  references: readonly (readonly (string | null)[])[],
  opts: BleuOptions = {},
): BleuScore {
  const name = 'corpusBleu';
  const o = resolveOptions(opts, name, false);
  checkStringArray(hypotheses, `${name}: hypotheses`);
  if (!Array.isArray(references) || references.length === 0) {
    throw new TypeError(
      `${name}: references: expected a non-empty array of reference streams (arrays of strings, one per hypothesis), got ${Array.isArray(references) ? 'an empty array' : references === null ? 'null' : typeof references}`,
    );
  }
  references.forEach((stream, k) => {
    if (typeof stream === 'string') {
      throw new TypeError(
        `${name}: references[${k}]: expected a stream (an array of ${hypotheses.length} strings), got a string; wrap a single reference stream as [stream]`,
      );
    }
    if (!Array.isArray(stream)) {
      throw new TypeError(
        `${name}: references[${k}]: expected an array of ${hypotheses.length} strings, got ${stream === null ? 'null' : typeof stream}`,
      );
    }
    if (stream.length !== hypotheses.length) {
      throw new RangeError(
        `${name}: references[${k}]: expected ${hypotheses.length} segments (one per hypothesis), got ${stream.length}`,
      );
    }
    stream.forEach((r, i) => {
      if (r !== null) checkString(r, `${name}: references[${k}][${i}]`);
    });
  });
  return bleuOfStreams(hypotheses, references, o, name);
}

/**
 * Sentence BLEU of one hypothesis against its references, as sacreBLEU's
 * `sentence_bleu(hypothesis, references)`: the effective order is on by default (orders with no
 * hypothesis n-gram do not zero the score).
 *
 * ```ts
 * ah.sentenceBleu('a little test', ['a test']).score;
 * ```
 */
export function sentenceBleu(
  hypothesis: string,
  references: readonly string[],
  opts: BleuOptions = {},
): BleuScore {
  const name = 'sentenceBleu';
  const o = resolveOptions(opts, name, true);
  checkString(hypothesis, `${name}: hypothesis`);
  if (typeof references === 'string') {
    throw new TypeError(
      `${name}: references: expected an array of reference strings, got a string; wrap it as [reference]`,
    );
  }
  checkStringArray(references, `${name}: references`);
  return bleuOfStreams(
    [hypothesis],
    references.map((r) => [r]),
    o,
    name,
  );
}

/**
 * BLEU from its sufficient statistics, as sacreBLEU's `BLEU.compute_bleu(correct, total,
 * sys_len, ref_len, ...)`: for scores of statistics summed elsewhere. Unlike that static method,
 * whose default smoothing is `none`, the default here is `exp` like everywhere else in this file.
 * Statistics do not tell the number of references: the signature says `nrefs:?`.
 *
 * ```ts
 * ah.bleuFromStats([9, 7, 5, 3], [10, 8, 6, 4], 11, 11).score; // 83.759...
 * ```
 */
export function bleuFromStats(
  correct: readonly number[],
  total: readonly number[],
  sysLen: number,
  refLen: number,
  opts: Omit<BleuOptions, 'lowercase' | 'tokenize'> = {},
): BleuScore {
  const name = 'bleuFromStats';
  const o = resolveOptions(opts, name, false, true);
  const order = o.maxNgramOrder;
  for (const [arr, argName] of [
    [correct, 'correct'],
    [total, 'total'],
  ] as const) {
    if (!Array.isArray(arr) || arr.length !== order) {
      throw new RangeError(
        `${name}: ${argName}: expected an array of ${order} counts (orders 1..${order}), got ${Array.isArray(arr) ? `${arr.length}` : typeof arr}`,
      );
    }
    arr.forEach((c, i) => {
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) {
        throw new RangeError(
          `${name}: ${argName}[${i}]: expected an integer >= 0, got ${JSON.stringify(c)}`,
        );
      }
    });
  }
  correct.forEach((c, i) => {
    if (c > total[i]) {
      throw new RangeError(
        `${name}: correct[${i}]: expected at most total[${i}] = ${total[i]} matches, got ${c}`,
      );
    }
  });
  for (const [v, argName] of [
    [sysLen, 'sysLen'],
    [refLen, 'refLen'],
  ] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new RangeError(
        `${name}: ${argName}: expected an integer >= 0, got ${JSON.stringify(v)}`,
      );
    }
  }
  return scoreStats(correct, total, sysLen, refLen, o, signature(o, '?'));
}

/**
 * Reference streams for `corpusBleu` from each segment's own list of references: stream `k` holds
 * every segment's `k`-th reference, or `null` where a segment has fewer (signature `nrefs:var`
 * unless all segments have the same number).
 *
 * ```ts
 * ah.referenceStreams([['hundert eins', 'ein hundert eins'], ['sieben und neunzig']]);
 * // [['hundert eins', 'sieben und neunzig'], ['ein hundert eins', null]]
 * ```
 */
export function referenceStreams(perSegment: readonly (readonly string[])[]): (string | null)[][] {
  const name = 'referenceStreams';
  if (!Array.isArray(perSegment) || perSegment.length === 0) {
    throw new TypeError(
      `${name}: perSegment: expected a non-empty array of reference lists (one per segment), got ${Array.isArray(perSegment) ? 'an empty array' : typeof perSegment}`,
    );
  }
  let k = 0;
  perSegment.forEach((refs, i) => {
    checkStringArray(refs, `${name}: perSegment[${i}]`);
    k = Math.max(k, refs.length);
  });
  return Array.from({ length: k }, (_, j) => perSegment.map((refs) => refs[j] ?? null));
}
