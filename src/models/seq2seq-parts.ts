/**
 * Plumbing shared by the RNN encoder-decoders (`encoder.ts`, `bahdanau.ts`, `baseline.ts`, and
 * chapter 04's): input checks that name the argument, config defaults, and the teacher-forced
 * input projection. Imported by path, not part of the learner's `ah.` namespace.
 */
import * as tf from '@tensorflow/tfjs';
import { recordingGradient } from '../core/op';
import { assertTensor, checkDtype, checkInt, checkShape, formatShape } from '../core/shapes';
import type { Seq2SeqBatch } from '../data/batches';
import type { Seq2SeqConfig } from './encoder';

/** Throws unless `config` is an object, naming the class and the expected fields. */
export function checkConfigObject(config: unknown, cls: string, fields: string): void {
  if (typeof config !== 'object' || config === null) {
    throw new TypeError(`${cls} config: expected ${fields}, got ${String(config)}`);
  }
}

/**
 * Checks token ids `[B, T]` int32 (`name`); their range in `[0, vocabSize)` is read back and
 * checked only outside a gradient (see the rule in `src/core/op.ts`).
 */
export function checkIds(
  ids: unknown,
  name: string,
  vocabSize: number,
  spec: Array<string | number>,
): void {
  assertTensor(ids, name);
  checkShape(ids, spec, name);
  checkDtype(ids, 'int32', name);
  if (recordingGradient()) return;
  const values = ids.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0 || values[i] >= vocabSize) {
      throw new RangeError(
        `${name}: expected token ids in [0, V) = [0, ${vocabSize}), got ${values[i]} at flat ` +
          `index ${i} of shape ${formatShape(ids.shape)}`,
      );
    }
  }
}

/** Checks lengths `[B]` int32 (`name`): integers in `[1, max]` (read back outside a gradient). */
export function checkLens(lens: unknown, name: string, batch: number, max: number): void {
  assertTensor(lens, name);
  checkShape(lens, [batch], name);
  checkDtype(lens, 'int32', name);
  if (recordingGradient()) return;
  const values = lens.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 1 || values[i] > max) {
      throw new RangeError(
        `${name}: expected lengths in [1, ${max}], got ${values[i]} at index ${i}`,
      );
    }
  }
}

/** Checks a source `[B, S]` and its optional lengths. */
export function checkSource(src: unknown, srcLens: unknown, vocabSize: number): void {
  checkIds(src, 'src', vocabSize, ['B', 'S']);
  const [batch, len] = (src as tf.Tensor).shape;
  if (srcLens !== undefined) checkLens(srcLens, 'srcLens', batch, len);
}

/** Checks a `Seq2SeqBatch` against the source and target vocabularies. */
export function checkSeq2SeqBatch(batch: unknown, srcVocab: number, tgtVocab: number): void {
  if (typeof batch !== 'object' || batch === null) {
    throw new TypeError(
      `batch: expected { src, srcLens, tgtIn, tgtOut, tgtLens }, got ${String(batch)}`,
    );
  }
  const b = batch as Partial<Seq2SeqBatch>;
  checkSource(b.src, b.srcLens, srcVocab);
  if (b.srcLens === undefined)
    throw new TypeError('srcLens: expected a [B] int32 tensor, got undefined');
  const rows = b.src!.shape[0];
  checkIds(b.tgtIn, 'tgtIn', tgtVocab, [rows, 'T']);
  const len = b.tgtIn!.shape[1];
  checkIds(b.tgtOut, 'tgtOut', tgtVocab, [rows, len]);
  checkLens(b.tgtLens, 'tgtLens', rows, len);
}

/** A `Seq2SeqConfig` with its defaults filled in and every field checked. */
export type ResolvedSeq2SeqConfig = Required<Omit<Seq2SeqConfig, 'bos' | 'eos'>> & {
  bos: number | undefined;
  eos: number | undefined;
};

/** Fills in the defaults of a `Seq2SeqConfig` and checks each field, naming it on error. */
export function resolveSeq2SeqConfig(config: Seq2SeqConfig, cls: string): ResolvedSeq2SeqConfig {
  checkConfigObject(
    config,
    cls,
    '{ srcVocab, tgtVocab, embedDim?, encoderHidden?, decoderHidden?, attentionHidden?, bos?, eos?, seed? }',
  );
  const tgtVocab = checkInt(config.tgtVocab, 'tgtVocab');
  const token = (v: number | undefined, name: string): number | undefined =>
    v === undefined ? undefined : checkInt(v, name, 0, tgtVocab - 1);
  return {
    srcVocab: checkInt(config.srcVocab, 'srcVocab'),
    tgtVocab,
    embedDim: checkInt(config.embedDim ?? 32, 'embedDim'),
    encoderHidden: checkInt(config.encoderHidden ?? 64, 'encoderHidden'),
    decoderHidden: checkInt(config.decoderHidden ?? 128, 'decoderHidden'),
    attentionHidden: checkInt(config.attentionHidden ?? 64, 'attentionHidden'),
    bos: token(config.bos, 'bos'),
    eos: token(config.eos, 'eos'),
    seed: checkInt(config.seed ?? 0, 'seed', 0),
  };
}

/**
 * The embedding part of a decoder GRU's input projection for every target step at once: with the
 * GRU input `[E_y y ; c]`, `x W_x + b_x = E_y y W_x[:Demb] + c W_x[Demb:] + b_x`, and the first
 * and last terms do not depend on the step. Returns `T` tensors `[B, 3 Ddec]`.
 * @param table `[V, Demb]` target embedding
 * @param wXy `[Demb, 3 Ddec]` the embedding rows of the GRU's input weights
 * @param bX `[3 Ddec]`
 * @param tgtIn `[B, T]` int32
 */
export function projectTargets(
  table: tf.Tensor,
  wXy: tf.Tensor2D,
  bX: tf.Tensor,
  tgtIn: tf.Tensor2D,
): tf.Tensor[] {
  return tf.unstack(projectTargetsStacked(table, wXy, bX, tgtIn)); // [T, B, 3 Ddec] -> T x [B, 3 Ddec]
}

/** `projectTargets` as one tensor `[T, B, 3 Ddec]` (step-major, for the fused decoder). */
export function projectTargetsStacked(
  table: tf.Tensor,
  wXy: tf.Tensor2D,
  bX: tf.Tensor,
  tgtIn: tf.Tensor2D,
): tf.Tensor3D {
  const [batch, steps] = tgtIn.shape;
  const ids = tgtIn.transpose().reshape([-1]); // [B, T] -> [T, B] -> [T*B]
  const y = tf.gather(table, ids); // [V, Demb] at [T*B] -> [T*B, Demb]
  const g = wXy.shape[1];
  const yp = tf.add(tf.matMul(y as tf.Tensor2D, wXy), bX); // [T*B, Demb] x [Demb, 3 Ddec] -> [T*B, 3 Ddec]
  return yp.reshape([steps, batch, g]); // -> [T, B, 3 Ddec]
}
