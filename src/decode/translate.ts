/**
 * Strings in, strings out: greedy decoding of texts with a trained `StepDecoder` and its (character
 * or word) vocabularies, and the exact match of a set of pairs (every token right, or the example
 * counts as wrong). Chapter 03 measures its date models with these; chapters 04 and 06 reuse them.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInt } from '../core/shapes';
import { encodeSources, type TextPair } from '../data/batches';
import { TokenVocab } from '../data/vocab';
import { greedyDecode } from './greedy';
import { checkStepDecoder, type StepDecoder } from './step-decoder';

/** Options of `translate` and `greedyExactMatch`. */
export interface TranslateOptions {
  /** Vocabulary of the sources (encodes the texts; an unknown character throws, naming it). */
  source: TokenVocab;
  /** Vocabulary of the targets (decodes the generated ids). */
  target: TokenVocab;
  /** Most tokens generated per text, the `EOS` included. */
  maxLen: number;
  /** Texts decoded together, at most. Defaults to 500. */
  batchSize?: number;
}

/** What `translate` returns, one entry per text. */
export interface Translation {
  /** The generated text, up to (without) the `EOS`. */
  outputs: string[];
  /** The generated tokens (characters or words), `'<eos>'` included: the rows of `weights`. */
  tokens: string[][];
  /** Attention weights `[T_b, S_b]` per text (`S_b` its own length), or `null` without attention. */
  weights: number[][][] | null;
}

function checkOptions(opts: unknown, name: string): Required<TranslateOptions> {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(
      `${name}: options: expected { source, target, maxLen, batchSize? }, got ${String(opts)}`,
    );
  }
  const o = opts as TranslateOptions;
  for (const key of ['source', 'target'] as const) {
    if (!(o[key] instanceof TokenVocab)) {
      throw new TypeError(
        `${name}: ${key}: expected a CharVocab or a WordVocab, got ${typeof o[key]}`,
      );
    }
  }
  return {
    source: o.source,
    target: o.target,
    maxLen: checkInt(o.maxLen, 'maxLen'),
    batchSize: checkInt(o.batchSize ?? 500, 'batchSize'),
  };
}

/**
 * Greedy-decodes `texts` (in batches of `batchSize`) and returns the output texts, their tokens
 * and, for a decoder that attends, each text's attention weights, cut to its own length.
 *
 * ```ts
 * const t = ah.translate(model, ['3 July 2021'], { source: data.sourceVocab,
 *   target: data.targetVocab, maxLen: 11 });
 * t.outputs[0]; // '2021-07-03' once trained
 * ```
 * @param decoder a trained `StepDecoder` that knows its `bos` and `eos` (any state type: a
 *   union such as `BaselineSeq2Seq | BahdanauSeq2Seq` is accepted)
 * @param texts non-empty strings over `source`'s characters
 */
export function translate(
  decoder: StepDecoder<unknown>,
  texts: readonly string[],
  opts: TranslateOptions,
): Translation {
  checkStepDecoder(decoder);
  const o = checkOptions(opts, 'translate');
  if (!Array.isArray(texts) || texts.length === 0) {
    throw new TypeError(
      `translate: texts: expected a non-empty array of strings, got ${Array.isArray(texts) ? 'an empty array' : typeof texts}`,
    );
  }
  const result: Translation = { outputs: [], tokens: [], weights: [] };
  let attends = true;
  for (let i = 0; i < texts.length; i += o.batchSize) {
    const chunk = texts.slice(i, i + o.batchSize);
    const { src, srcLens } = encodeSources(chunk, o.source); // [B, S], [B]
    try {
      const out = greedyDecode(decoder, src, { maxLen: o.maxLen, srcValidLens: srcLens });
      out.tokens.forEach((ids, b) => {
        result.outputs.push(o.target.decode(ids));
        result.tokens.push(ids.map((id) => o.target.token(id)));
        const len = o.source.split(chunk[b]).length; // S_b: the text's own tokens
        if (out.weights) result.weights!.push(out.weights[b].map((row) => row.slice(0, len)));
      });
      if (!out.weights) attends = false;
    } finally {
      tf.dispose([src, srcLens]);
    }
  }
  if (!attends) result.weights = null;
  return result;
}

/**
 * The fraction of `pairs` whose greedy output (`translate`) equals the target exactly, or, for a
 * pair with `references` (several correct translations, as the number task's pairs have), any
 * one of them.
 * @param pairs `{ source, target, references? }` strings, at least one
 */
export function greedyExactMatch(
  decoder: StepDecoder<unknown>,
  pairs: readonly (TextPair & { references?: readonly string[] })[],
  opts: TranslateOptions,
): number {
  if (!Array.isArray(pairs) || pairs.length === 0) {
    throw new TypeError(
      `greedyExactMatch: pairs: expected a non-empty array of { source, target }, got ${Array.isArray(pairs) ? 'an empty array' : typeof pairs}`,
    );
  }
  pairs.forEach((p, i) => {
    if (p === null || typeof p !== 'object' || typeof p.target !== 'string') {
      throw new TypeError(`greedyExactMatch: pairs[${i}]: expected { source, target } strings`);
    }
    const refs: unknown = p.references;
    if (refs !== undefined && (!Array.isArray(refs) || refs.some((r) => typeof r !== 'string'))) {
      throw new TypeError(
        `greedyExactMatch: pairs[${i}].references: expected an array of strings, got ${typeof refs}`,
      );
    }
  });
  const { outputs } = translate(
    decoder,
    pairs.map((p) => p.source),
    opts,
  );
  const right = outputs.filter(
    (out, i) => out === pairs[i].target || (pairs[i].references?.includes(out) ?? false),
  );
  return right.length / pairs.length;
}
