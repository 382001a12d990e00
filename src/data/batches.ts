/**
 * Padded batches for sequence-to-sequence training: a `Dataset` for `fit()` over pairs of
 * strings, and the encoding of free text for inference.
 *
 * A batch of `B` pairs, `S` the longest source and `T` the longest target plus one:
 *
 * | field     | shape    | contents                                                         |
 * | --------- | -------- | ---------------------------------------------------------------- |
 * | `src`     | `[B, S]` | source ids, then `PAD`                                           |
 * | `srcLens` | `[B]`    | source lengths (the `validLens` of attention over the encoder)   |
 * | `tgtIn`   | `[B, T]` | `BOS` + target ids, then `PAD`: the decoder's teacher-forced input |
 * | `tgtOut`  | `[B, T]` | target ids + `EOS`, then `PAD`: what each step must predict      |
 * | `tgtLens` | `[B]`    | target length + 1 (the `EOS` counts): the real steps of `tgtOut` |
 *
 * All int32. `tgtOut[b, t]` is `tgtIn[b, t + 1]` for every real step but the last, where it is
 * `EOS`; `tgtLens` is the `validLens` of `maskedCrossEntropy` and of the metrics.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../train/fit';
import { BOS, EOS, TokenVocab } from './vocab';

/** One padded batch (see the table at the top of `src/data/batches.ts`). */
export type Seq2SeqBatch = {
  /** `[B, S]` int32 source ids, padded with `PAD`. */
  src: tf.Tensor2D;
  /** `[B]` int32 source lengths. */
  srcLens: tf.Tensor1D;
  /** `[B, T]` int32 `BOS` + target ids, padded with `PAD`. */
  tgtIn: tf.Tensor2D;
  /** `[B, T]` int32 target ids + `EOS`, padded with `PAD`. */
  tgtOut: tf.Tensor2D;
  /** `[B]` int32 target lengths + 1 (the `EOS`). */
  tgtLens: tf.Tensor1D;
};

/** A pair of strings: what the model reads and what it must write. */
export interface TextPair {
  source: string;
  target: string;
}

/** A `Dataset` of string pairs for `fit()`, batching them as `Seq2SeqBatch`. */
export interface Seq2SeqDataset<P extends TextPair = TextPair> extends Dataset<Seq2SeqBatch> {
  /** The pairs, in index order (`batch([i])` holds `pairs[i]`). */
  readonly pairs: readonly P[];
  /** Vocabulary of the sources. */
  readonly sourceVocab: TokenVocab;
  /** Vocabulary of the targets. */
  readonly targetVocab: TokenVocab;
}

/** Vocabularies of `seq2seqDataset`. */
export interface Seq2SeqVocabs {
  /** Vocabulary of the sources. */
  sourceVocab: TokenVocab;
  /** Vocabulary of the targets. Defaults to `sourceVocab`. */
  targetVocab?: TokenVocab;
}

function checkVocab(v: unknown, name: string): asserts v is TokenVocab {
  if (!(v instanceof TokenVocab)) {
    throw new TypeError(
      `${name}: expected a CharVocab or a WordVocab, got ${v === null ? 'null' : typeof v}`,
    );
  }
}

/** Rows of ids padded with `PAD` to the longest row (at least `minLen`), as `[rows, len]` int32. */
function padRows(rows: readonly (readonly number[])[], minLen = 1): tf.Tensor2D {
  let len = minLen;
  for (const r of rows) len = Math.max(len, r.length);
  const data = new Int32Array(rows.length * len); // zeros = PAD
  rows.forEach((r, b) => data.set(r, b * len));
  return tf.tensor2d(data, [rows.length, len], 'int32');
}

/**
 * A `Dataset` over string pairs: every pair is encoded once here (an unknown character throws,
 * naming the pair), and `batch(indices)` pads the chosen pairs into a `Seq2SeqBatch`, each batch
 * only as long as its longest source and target.
 *
 * ```ts
 * const data = ah.makeDateData();
 * const train = ah.seq2seqDataset(data.train, { sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
 * const b = train.batch([0, 1, 2]); // { src: [3, S], srcLens: [3], tgtIn: [3, 11], tgtOut: [3, 11], tgtLens: [3] }
 * ```
 */
export function seq2seqDataset<P extends TextPair>(
  pairs: readonly P[],
  vocabs: Seq2SeqVocabs,
): Seq2SeqDataset<P> {
  const name = 'seq2seqDataset';
  if (!Array.isArray(pairs) || pairs.length === 0) {
    throw new TypeError(
      `${name}: pairs: expected a non-empty array of { source, target }, got ${Array.isArray(pairs) ? 'an empty array' : typeof pairs}`,
    );
  }
  if (vocabs === null || typeof vocabs !== 'object') {
    throw new TypeError(
      `${name}: vocabs: expected { sourceVocab, targetVocab? }, got ${String(vocabs)}`,
    );
  }
  const sourceVocab = vocabs.sourceVocab;
  const targetVocab = vocabs.targetVocab ?? sourceVocab;
  checkVocab(sourceVocab, `${name}: sourceVocab`);
  checkVocab(targetVocab, `${name}: targetVocab`);
  const srcIds: number[][] = [];
  const tgtIds: number[][] = [];
  pairs.forEach((p, i) => {
    if (p === null || typeof p !== 'object') {
      throw new TypeError(`${name}: pairs[${i}]: expected { source, target }, got ${String(p)}`);
    }
    for (const field of ['source', 'target'] as const) {
      if (typeof p[field] !== 'string' || p[field].length === 0) {
        throw new TypeError(
          `${name}: pairs[${i}].${field}: expected a non-empty string, got ${JSON.stringify(p[field])}`,
        );
      }
    }
    try {
      srcIds.push(sourceVocab.encode(p.source));
      tgtIds.push(targetVocab.encode(p.target));
    } catch (err) {
      if (err instanceof Error) err.message = `${name}: pairs[${i}]: ${err.message}`;
      throw err;
    }
  });
  const size = pairs.length;
  return {
    size,
    pairs,
    sourceVocab,
    targetVocab,
    batch(indices: readonly number[]): Seq2SeqBatch {
      const where = 'Seq2SeqDataset.batch';
      if (!Array.isArray(indices) || indices.length === 0) {
        throw new TypeError(
          `${where}: indices: expected a non-empty array of example indices, got ${Array.isArray(indices) ? 'an empty array' : typeof indices}`,
        );
      }
      indices.forEach((i, k) => {
        if (!Number.isInteger(i) || i < 0 || i >= size) {
          throw new RangeError(
            `${where}: indices[${k}]: expected an integer in [0, ${size}), got ${String(i)}`,
          );
        }
      });
      const src = indices.map((i) => srcIds[i]);
      const tgt = indices.map((i) => tgtIds[i]);
      return {
        src: padRows(src),
        srcLens: tf.tensor1d(
          src.map((r) => r.length),
          'int32',
        ),
        tgtIn: padRows(tgt.map((r) => [BOS, ...r])),
        tgtOut: padRows(tgt.map((r) => [...r, EOS])),
        tgtLens: tf.tensor1d(
          tgt.map((r) => r.length + 1),
          'int32',
        ),
      };
    },
  };
}

/**
 * Encodes texts for inference (the notebook's "type your own date" cell): `src` `[B, S]` int32
 * padded with `PAD`, `srcLens` `[B]` int32. A character outside the vocabulary throws, naming
 * the text, the character and its index.
 *
 * ```ts
 * const { src, srcLens } = ah.encodeSources(['3 July 2021', '12/25/99'], data.sourceVocab);
 * ```
 */
export function encodeSources(
  texts: readonly string[],
  vocab: TokenVocab,
): { src: tf.Tensor2D; srcLens: tf.Tensor1D } {
  const name = 'encodeSources';
  if (!Array.isArray(texts) || texts.length === 0) {
    throw new TypeError(
      `${name}: texts: expected a non-empty array of strings, got ${Array.isArray(texts) ? 'an empty array' : typeof texts}`,
    );
  }
  checkVocab(vocab, `${name}: vocab`);
  const rows = texts.map((t, i) => {
    if (typeof t !== 'string' || t.length === 0) {
      throw new TypeError(
        `${name}: texts[${i}]: expected a non-empty string, got ${JSON.stringify(t)}`,
      );
    }
    try {
      return vocab.encode(t);
    } catch (err) {
      if (err instanceof Error) err.message = `${name}: texts[${i}]: ${err.message}`;
      throw err;
    }
  });
  return {
    src: padRows(rows),
    srcLens: tf.tensor1d(
      rows.map((r) => r.length),
      'int32',
    ),
  };
}
