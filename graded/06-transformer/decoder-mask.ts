/**
 * Graded tests of exercise 06.2 (the decoder's causal plus padding mask). References: the
 * library's mask vocabulary (`attentionMask({ causal: true, validLens })`, tested on its own
 * against PyTorch) and a 2 x 3 x 3 mask written out by hand.
 */
import * as tf from '@tensorflow/tfjs';
import { attentionMask } from '../../src/attention/masks';
import { check, defineExercise } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/06-transformer/decoder-mask';

type Mask = boolean[][][];

/** The answer's mask, checked to be a bool `[B, T, T]` tensor, as nested arrays. */
function runMask(answer: typeof Answers.decoderSelfMask, lens: number[], len: number): Mask {
  const call = `decoderSelfMask(tgtValidLens ${JSON.stringify(lens)}, ${len})`;
  const got = answer(tf.tensor1d(lens, 'int32'), len);
  check(got instanceof tf.Tensor, `${call}: expected a tf.Tensor, got ${String(got)}`);
  const want = [lens.length, len, len];
  check(
    got.shape.join() === want.join(),
    `${call}: expected shape [B, T, T] = [${want.join(', ')}], got [${got.shape.join(', ')}]` +
      (got.rank === 2
        ? '. Hint: the mask needs one [T, T] slice per batch element (padding differs by row)'
        : ''),
  );
  check(
    got.dtype === 'bool',
    `${call}: expected a bool tensor (true = keep), got dtype ${got.dtype}. Hint: tf.logicalAnd of two tf.less/tf.lessEqual comparisons is bool`,
  );
  return (got.arraySync() as number[][][]).map((m) =>
    m.map((r) => r.map((v) => v === 1 || (v as unknown) === true)),
  );
}

/** Masks with the usual mistakes, keyed by the hint that names them. */
function variants(lens: number[], len: number): Array<[string, Mask]> {
  const make = (f: (b: number, t: number, s: number) => boolean): Mask =>
    lens.map((_, b) =>
      Array.from({ length: len }, (_, t) => Array.from({ length: len }, (_, s) => f(b, t, s))),
    );
  return [
    [
      'the padding mask hides QUERIES (rows t >= tgtValidLens[b]) instead of KEYS: it must broadcast along the query axis, as [B, 1, T] (lens compared with the key positions s, the last axis)',
      make((b, t, s) => s <= t && t < lens[b]),
    ],
    ['the padding part is missing: also hide keys s >= tgtValidLens[b]', make((_, t, s) => s <= t)],
    [
      'the causal part is missing: query t may only see keys s <= t',
      make((b, _, s) => s < lens[b]),
    ],
    [
      'the causal mask is transposed: query t (a row) sees keys s <= t (the columns up to the diagonal), not s >= t',
      make((b, t, s) => s >= t && s < lens[b]),
    ],
    [
      'off by one on the diagonal: query t must see itself (s <= t, not s < t)',
      make((b, t, s) => s < t && s < lens[b]),
    ],
    [
      'off by one on the padding: the real keys are s < tgtValidLens[b], so key s = tgtValidLens[b] is already padding',
      make((b, t, s) => s <= t && s <= lens[b]),
    ],
  ];
}

function reference(lens: number[], len: number): Mask {
  return tf.tidy(() => {
    const { keep } = attentionMask({ causal: true, validLens: tf.tensor1d(lens, 'int32') }, [
      lens.length,
      len,
      len,
    ]);
    const full = tf.logicalAnd(keep!, tf.ones([lens.length, len, len], 'bool'));
    return (full.arraySync() as number[][][]).map((m) => m.map((r) => r.map((v) => v === 1)));
  });
}

const same = (a: Mask, b: Mask) => JSON.stringify(a) === JSON.stringify(b);

function firstDifference(got: Mask, want: Mask): string {
  for (let b = 0; b < want.length; b++)
    for (let t = 0; t < want[b].length; t++)
      for (let s = 0; s < want[b][t].length; s++)
        if (got[b][t][s] !== want[b][t][s])
          return `at [b ${b}, t ${t}, s ${s}] expected ${want[b][t][s]}, got ${got[b][t][s]}`;
  return 'no difference';
}

export const decoderMaskSpec = defineExercise<typeof Answers>({
  chapter: '06-transformer',
  exercise: 'decoder-mask',
  reimplements: [
    'causalMask',
    'keyPaddingMask',
    'sequenceMask',
    'attentionMask',
    'attentionBias',
    'combineMasks',
  ],
  file: 'decoder-mask.ts',
  title: 'The decoder mask: causal plus padding',
  tests: [
    {
      name: 'keeps exactly the keys s <= t and s < tgtValidLens[b] (lengths 5, 3, 1; T = 5)',
      points: 3,
      run({ decoderSelfMask }) {
        const lens = [5, 3, 1];
        const got = runMask(decoderSelfMask, lens, 5);
        const want = reference(lens, 5);
        if (same(got, want)) return;
        const known = variants(lens, 5).find(([, m]) => same(got, m));
        check(
          false,
          `decoderSelfMask(tgtValidLens [5, 3, 1], 5): ${firstDifference(got, want)}. Hint: ` +
            (known ? known[0] : 'keep[b, t, s] = (s <= t) AND (s < tgtValidLens[b])'),
        );
      },
    },
    {
      name: 'matches a mask written out by hand (lengths 3 and 1, T = 3)',
      points: 1,
      run({ decoderSelfMask }) {
        const [T, F] = [true, false];
        const want: Mask = [
          [
            [T, F, F],
            [T, T, F],
            [T, T, T],
          ],
          [
            [T, F, F],
            [T, F, F],
            [T, F, F],
          ],
        ];
        const got = runMask(decoderSelfMask, [3, 1], 3);
        check(
          same(got, want),
          `decoderSelfMask(tgtValidLens [3, 1], 3): ${firstDifference(got, want)}; expected ${JSON.stringify(want)}`,
        );
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ decoderSelfMask }) {
        const lens = tf.tensor1d([4, 2], 'int32');
        const before = tf.memory().numTensors;
        const got = decoderSelfMask(lens, 4);
        const extra = tf.memory().numTensors - before - 1;
        check(
          extra <= 0,
          `decoderSelfMask(tgtValidLens [4, 2], 4) left ${extra} intermediate tensor(s) in memory besides its result. ` +
            'Hint: compute the mask inside tf.tidy(() => { ... }) and return it from there',
        );
        check(got instanceof tf.Tensor, 'decoderSelfMask: expected a tensor');
      },
    },
  ],
});
