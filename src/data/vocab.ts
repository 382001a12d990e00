/**
 * Vocabularies for sequence-to-sequence tasks, with three special tokens at fixed ids: `PAD` (0,
 * fills batches up to the longest sequence), `BOS` (1, the decoder's first input) and `EOS` (2,
 * ends every target). The tokens follow in a fixed order: characters (`CharVocab`, the dates of
 * chapter 03) or words (`WordVocab`, the number translation of chapter 06). Both share one base,
 * `TokenVocab`, which batches and `translate` accept.
 *
 * There is no `UNK` token on purpose: a token the vocabulary does not know is an error that
 * names the token and its position, instead of a silent unknown token that the model would
 * then translate into something plausible.
 */

/** Id of the padding token: batches are filled with it past each sequence's length. */
export const PAD = 0;
/** Id of the begin-of-sequence token: the decoder's input at the first step. */
export const BOS = 1;
/** Id of the end-of-sequence token: closes every target; decoding stops there. */
export const EOS = 2;

/** The id of a special token. */
export type SpecialTokenId = typeof PAD | typeof BOS | typeof EOS;

/** How special tokens are shown by `CharVocab.token` (and in heatmap labels). */
export const SPECIAL_TOKENS: Readonly<Record<SpecialTokenId, string>> = {
  [PAD]: '<pad>',
  [BOS]: '<bos>',
  [EOS]: '<eos>',
};

const NUM_SPECIAL = 3;

function quote(ch: string): string {
  return JSON.stringify(ch);
}

/**
 * What `CharVocab` and `WordVocab` share: ids 0-2 are `PAD`, `BOS`, `EOS`; id `3 + i` is the
 * `i`-th token. A subclass says how a text splits into tokens and how tokens join into a text.
 */
export abstract class TokenVocab {
  /** Id of `PAD` (0). */
  readonly pad: typeof PAD = PAD;
  /** Id of `BOS` (1). */
  readonly bos: typeof BOS = BOS;
  /** Id of `EOS` (2). */
  readonly eos: typeof EOS = EOS;
  /** The tokens, in id order (id of `tokens[i]` is `i + 3`). */
  readonly tokens: readonly string[];
  private readonly ids: Map<string, number>;
  /** What a token is called in error messages (`'character'`, `'word'`). */
  protected abstract readonly unit: string;

  /** @param tokens distinct tokens, already checked by the subclass */
  protected constructor(tokens: readonly string[]) {
    this.tokens = Object.freeze([...tokens]);
    this.ids = new Map(this.tokens.map((t, i) => [t, i + NUM_SPECIAL]));
  }

  /** The tokens of a text (characters, or words). */
  abstract split(text: string): string[];

  /** The text of a list of tokens (the inverse of `split`). */
  abstract join(tokens: readonly string[]): string;

  /** Number of ids: the three special tokens plus the tokens (`V` in the shape glossary). */
  get size(): number {
    return this.tokens.length + NUM_SPECIAL;
  }

  /** Whether `token` is in the vocabulary. */
  has(token: string): boolean {
    return this.ids.has(token);
  }

  /**
   * The ids of the tokens of `text`, without `BOS` or `EOS`. Throws on a token outside the
   * vocabulary, naming it and its index: `encode: character "é" at index 4 is not in the
   * vocabulary`.
   */
  encode(text: string): number[] {
    if (typeof text !== 'string') {
      throw new TypeError(`encode: text: expected a string, got ${typeof text}`);
    }
    return this.split(text).map((tok, i) => {
      const id = this.ids.get(tok);
      if (id === undefined) {
        throw new RangeError(
          `encode: ${this.unit} ${quote(tok)} at index ${i} of ${quote(text)} is not in the vocabulary (${this.describe()})`,
        );
      }
      return id;
    });
  }

  /**
   * The text of a row of ids: stops at the first `EOS`, skips `PAD` and `BOS`. Throws on an id
   * that is not an integer in `[0, size)`.
   */
  decode(ids: ArrayLike<number>): string {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new TypeError(`decode: ids: expected an array of token ids, got ${typeof ids}`);
    }
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      this.checkId(id, `decode: ids[${i}]`);
      if (id === EOS) break;
      if (id === PAD || id === BOS) continue;
      out.push(this.tokens[id - NUM_SPECIAL]);
    }
    return this.join(out);
  }

  /** The token of one id: a character or word, or `<pad>`, `<bos>`, `<eos>`. */
  token(id: number): string {
    this.checkId(id, 'token: id');
    return id < NUM_SPECIAL ? SPECIAL_TOKENS[id as SpecialTokenId] : this.tokens[id - NUM_SPECIAL];
  }

  /** The vocabulary in an error message. */
  protected abstract describe(): string;

  private checkId(id: unknown, name: string): asserts id is number {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.size) {
      throw new RangeError(
        `${name}: expected a token id, an integer in [0, ${this.size}), got ${String(id)}`,
      );
    }
  }
}

/** The characters of an alphabet, checked: single characters, each once. */
function alphabetChars(alphabet: string | readonly string[]): string[] {
  let chars: string[];
  if (typeof alphabet === 'string') chars = Array.from(alphabet);
  else if (Array.isArray(alphabet)) chars = [...(alphabet as readonly unknown[])] as string[];
  else {
    throw new TypeError(
      `CharVocab: alphabet: expected a string or an array of characters, got ${typeof alphabet}`,
    );
  }
  if (chars.length === 0) {
    throw new RangeError('CharVocab: alphabet: expected at least one character, got none');
  }
  const seen = new Map<string, number>();
  chars.forEach((ch, i) => {
    if (typeof ch !== 'string' || Array.from(ch).length !== 1) {
      throw new TypeError(
        `CharVocab: alphabet: expected single characters, got ${typeof ch === 'string' ? quote(ch) : typeof ch} at index ${i}`,
      );
    }
    if (seen.has(ch)) {
      throw new RangeError(
        `CharVocab: alphabet: character ${quote(ch)} appears twice (indices ${seen.get(ch)} and ${i})`,
      );
    }
    seen.set(ch, i);
  });
  return chars;
}

/**
 * A character vocabulary: ids 0-2 are `PAD`, `BOS`, `EOS`; id `3 + i` is the `i`-th character of
 * the alphabet.
 *
 * ```ts
 * const vocab = new CharVocab('0123456789-');
 * vocab.encode('2021-07-03'); // [5, 3, 5, 4, 13, 3, 10, 13, 3, 6]
 * vocab.decode([BOS, 5, 3, EOS, PAD]); // '20'
 * ```
 */
export class CharVocab extends TokenVocab {
  protected override readonly unit = 'character';

  /**
   * @param alphabet the characters, each once (a string or an array of single characters);
   *   Unicode code points count as one character each
   */
  constructor(alphabet: string | readonly string[]) {
    super(alphabetChars(alphabet));
  }

  /** The characters, in id order (id of `chars[i]` is `i + 3`); the same as `tokens`. */
  get chars(): readonly string[] {
    return this.tokens;
  }

  /** A vocabulary of every character that occurs in `texts`, in code-point order. */
  static fromTexts(texts: readonly string[]): CharVocab {
    if (!Array.isArray(texts)) {
      throw new TypeError(
        `CharVocab.fromTexts: texts: expected an array of strings, got ${typeof texts}`,
      );
    }
    const seen = new Set<string>();
    texts.forEach((t, i) => {
      if (typeof t !== 'string') {
        throw new TypeError(
          `CharVocab.fromTexts: texts: expected strings, got ${typeof t} at index ${i}`,
        );
      }
      for (const ch of t) seen.add(ch);
    });
    return new CharVocab([...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  /** The characters of `text` (Unicode code points). */
  override split(text: string): string[] {
    return Array.from(text);
  }

  /** The characters joined without separator. */
  override join(tokens: readonly string[]): string {
    return tokens.join('');
  }

  protected override describe(): string {
    return `${this.tokens.length} characters: ${quote(this.tokens.join(''))}`;
  }
}

/**
 * A word vocabulary: ids 0-2 are `PAD`, `BOS`, `EOS`; id `3 + i` is the `i`-th word. A text is
 * its words separated by single spaces (`split` also accepts runs of whitespace and trims the
 * ends; `decode` writes single spaces).
 *
 * ```ts
 * const vocab = new WordVocab(['und', 'sieben', 'neunzig']);
 * vocab.encode('sieben und neunzig'); // [4, 3, 5]
 * vocab.decode([4, 3, 5, EOS]); // 'sieben und neunzig'
 * ```
 */
export class WordVocab extends TokenVocab {
  protected override readonly unit = 'word';

  /** @param words distinct non-empty words without whitespace, in id order */
  constructor(words: readonly string[]) {
    super(checkWords(words));
  }

  /** The words, in id order (id of `words[i]` is `i + 3`); the same as `tokens`. */
  get words(): readonly string[] {
    return this.tokens;
  }

  /** A vocabulary of every word that occurs in `texts`, sorted (code units order). */
  static fromTexts(texts: readonly string[]): WordVocab {
    if (!Array.isArray(texts)) {
      throw new TypeError(
        `WordVocab.fromTexts: texts: expected an array of strings, got ${typeof texts}`,
      );
    }
    const seen = new Set<string>();
    texts.forEach((t, i) => {
      if (typeof t !== 'string') {
        throw new TypeError(
          `WordVocab.fromTexts: texts: expected strings, got ${typeof t} at index ${i}`,
        );
      }
      for (const w of splitWords(t)) seen.add(w);
    });
    return new WordVocab([...seen].sort());
  }

  /** The words of `text`: split on whitespace, ends trimmed, no empty words. */
  override split(text: string): string[] {
    return splitWords(text);
  }

  /** The words joined by single spaces. */
  override join(tokens: readonly string[]): string {
    return tokens.join(' ');
  }

  protected override describe(): string {
    const shown = this.tokens.slice(0, 12).map(quote).join(', ');
    return `${this.tokens.length} words: ${shown}${this.tokens.length > 12 ? ', ...' : ''}`;
  }
}

function splitWords(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

function checkWords(words: readonly string[]): string[] {
  if (!Array.isArray(words)) {
    throw new TypeError(`WordVocab: words: expected an array of strings, got ${typeof words}`);
  }
  if (words.length === 0) {
    throw new RangeError('WordVocab: words: expected at least one word, got none');
  }
  const seen = new Map<string, number>();
  (words as readonly unknown[]).forEach((w, i) => {
    if (typeof w !== 'string' || w.length === 0 || /\s/.test(w)) {
      throw new TypeError(
        `WordVocab: words: expected non-empty words without whitespace, got ${typeof w === 'string' ? quote(w) : typeof w} at index ${i}`,
      );
    }
    if (seen.has(w)) {
      throw new RangeError(
        `WordVocab: words: word ${quote(w)} appears twice (indices ${seen.get(w)} and ${i})`,
      );
    }
    seen.set(w, i);
  });
  return [...words];
}
