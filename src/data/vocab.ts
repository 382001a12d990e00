/**
 * A character vocabulary for sequence-to-sequence tasks, with three special tokens at fixed ids:
 * `PAD` (0, fills batches up to the longest sequence), `BOS` (1, the decoder's first input) and
 * `EOS` (2, ends every target). Characters follow, in the order of the alphabet.
 *
 * There is no `UNK` token on purpose: a character the vocabulary does not know is an error that
 * names the character and its position, instead of a silent unknown token that the model would
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
 * A character vocabulary: ids 0-2 are `PAD`, `BOS`, `EOS`; id `3 + i` is the `i`-th character of
 * the alphabet.
 *
 * ```ts
 * const vocab = new CharVocab('0123456789-');
 * vocab.encode('2021-07-03'); // [5, 3, 5, 4, 13, 3, 10, 13, 3, 6]
 * vocab.decode([BOS, 5, 3, EOS, PAD]); // '20'
 * ```
 */
export class CharVocab {
  /** Id of `PAD` (0). */
  readonly pad: typeof PAD = PAD;
  /** Id of `BOS` (1). */
  readonly bos: typeof BOS = BOS;
  /** Id of `EOS` (2). */
  readonly eos: typeof EOS = EOS;
  /** The characters, in id order (id of `chars[i]` is `i + 3`). */
  readonly chars: readonly string[];
  private readonly ids: Map<string, number>;

  /**
   * @param alphabet the characters, each once (a string or an array of single characters);
   *   Unicode code points count as one character each
   */
  constructor(alphabet: string | readonly string[]) {
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
    this.ids = new Map();
    chars.forEach((ch, i) => {
      if (typeof ch !== 'string' || Array.from(ch).length !== 1) {
        throw new TypeError(
          `CharVocab: alphabet: expected single characters, got ${typeof ch === 'string' ? quote(ch) : typeof ch} at index ${i}`,
        );
      }
      if (this.ids.has(ch)) {
        throw new RangeError(
          `CharVocab: alphabet: character ${quote(ch)} appears twice (indices ${this.ids.get(ch)! - NUM_SPECIAL} and ${i})`,
        );
      }
      this.ids.set(ch, i + NUM_SPECIAL);
    });
    this.chars = Object.freeze(chars);
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

  /** Number of ids: the three special tokens plus the characters (`V` in the shape glossary). */
  get size(): number {
    return this.chars.length + NUM_SPECIAL;
  }

  /** Whether `ch` is in the vocabulary. */
  has(ch: string): boolean {
    return this.ids.has(ch);
  }

  /**
   * The ids of the characters of `text`, without `BOS` or `EOS`. Throws on a character outside
   * the vocabulary, naming it and its index: `encode: character "é" at index 4 is not in the
   * vocabulary`.
   */
  encode(text: string): number[] {
    if (typeof text !== 'string') {
      throw new TypeError(`encode: text: expected a string, got ${typeof text}`);
    }
    const out: number[] = [];
    let i = 0;
    for (const ch of text) {
      const id = this.ids.get(ch);
      if (id === undefined) {
        throw new RangeError(
          `encode: character ${quote(ch)} at index ${i} of ${quote(text)} is not in the vocabulary (${this.chars.length} characters: ${quote(this.chars.join(''))})`,
        );
      }
      out.push(id);
      i++;
    }
    return out;
  }

  /**
   * The text of a row of ids: stops at the first `EOS`, skips `PAD` and `BOS`. Throws on an id
   * that is not an integer in `[0, size)`.
   */
  decode(ids: ArrayLike<number>): string {
    if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
      throw new TypeError(`decode: ids: expected an array of token ids, got ${typeof ids}`);
    }
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      this.checkId(id, `decode: ids[${i}]`);
      if (id === EOS) break;
      if (id === PAD || id === BOS) continue;
      text += this.chars[id - NUM_SPECIAL];
    }
    return text;
  }

  /** The token of one id: a character, or `<pad>`, `<bos>`, `<eos>`. */
  token(id: number): string {
    this.checkId(id, 'token: id');
    return id < NUM_SPECIAL ? SPECIAL_TOKENS[id as SpecialTokenId] : this.chars[id - NUM_SPECIAL];
  }

  private checkId(id: unknown, name: string): asserts id is number {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.size) {
      throw new RangeError(
        `${name}: expected a token id, an integer in [0, ${this.size}), got ${String(id)}`,
      );
    }
  }
}
