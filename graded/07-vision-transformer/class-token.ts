/**
 * Graded tests of exercise 07.2 (class token and positions). References: a hand-written case and
 * a loop over the tokens written here.
 */
import * as tf from '@tensorflow/tfjs';
import { describeMismatch } from '../../src/core/compare';
import { arg, check, defineExercise, expectClose } from '../../tools/grading/framework';
import type * as Answers from '../../exercises/07-vision-transformer/class-token';

function byLoops(tokens: number[][][], cls: number[], pos: number[][]): number[][][] {
  return tokens.map((seq) => [cls, ...seq].map((row, n) => row.map((v, d) => v + pos[n][d])));
}

function diagnose(
  got: unknown,
  tokens: tf.Tensor3D,
  cls: tf.Tensor3D,
  pos: tf.Tensor3D,
): string | undefined {
  if (!(got instanceof tf.Tensor)) return undefined;
  const b = tokens.shape[0];
  const same = (t: tf.Tensor) =>
    got.size === t.size && describeMismatch(got, t, { atol: 1e-6 }) === null;
  const clsB = tf.tile(cls, [b, 1, 1]);
  if (same(tf.add(tf.concat([tokens, clsB], 1), pos))) {
    return 'the class token goes in FRONT of the patches (position 0), not at the end';
  }
  if (same(tf.concat([clsB, tokens], 1))) return 'add the position embeddings to every token';
  if (same(tf.concat([clsB, tf.add(tokens, pos.slice([0, 1, 0], [1, -1, -1]))], 1))) {
    return 'the class token gets a position too: add positions[0] to it';
  }
  return undefined;
}

function run(
  answer: typeof Answers.prependClassToken,
  b: number,
  n: number,
  d: number,
  seed: number,
): void {
  const tokens = tf.randomNormal([b, n, d], 0, 1, 'float32', seed) as tf.Tensor3D;
  const cls = tf.randomNormal([1, 1, d], 0, 1, 'float32', seed + 1) as tf.Tensor3D;
  const pos = tf.randomNormal([1, n + 1, d], 0, 1, 'float32', seed + 2) as tf.Tensor3D;
  const expected = tf.tensor3d(
    byLoops(tokens.arraySync(), cls.arraySync()[0][0], pos.arraySync()[0]),
  );
  const got = answer(tokens, cls, pos);
  expectClose(got, expected, {
    call: `prependClassToken(${arg('tokens', tokens)}, ${arg('classToken', cls)}, ${arg('positions', pos)})`,
    atol: 1e-6,
    hint:
      diagnose(got, tokens, cls, pos) ??
      'expected [B, N+1, D]: out[b, 0] = classToken + positions[0], out[b, n+1] = tokens[b, n] + positions[n+1]',
  });
}

export const classTokenSpec = defineExercise<typeof Answers>({
  chapter: '07-vision-transformer',
  exercise: 'class-token',
  reimplements: ['addClassToken'],
  file: 'class-token.ts',
  title: 'The class token and the positions',
  tests: [
    {
      name: 'a hand-written case (one image, two patches, D = 2)',
      points: 2,
      run({ prependClassToken }) {
        const tokens = tf.tensor3d([
          [
            [1, 2],
            [3, 4],
          ],
        ]);
        const cls = tf.tensor3d([[[10, 20]]]);
        const pos = tf.tensor3d([
          [
            [0.5, 0.5],
            [1, 1],
            [2, 2],
          ],
        ]);
        const expected = tf.tensor3d([
          [
            [10.5, 20.5],
            [2, 3],
            [5, 6],
          ],
        ]);
        const got = prependClassToken(tokens, cls, pos);
        expectClose(got, expected, {
          call: 'prependClassToken(tokens [[1, 2], [3, 4]], classToken [10, 20], positions [[.5, .5], [1, 1], [2, 2]])',
          atol: 1e-6,
          hint: diagnose(got, tokens, cls, pos),
        });
      },
    },
    {
      name: 'a batch of 3 (16 patches, D = 8): the same class token for every image',
      points: 2,
      run({ prependClassToken }) {
        run(prependClassToken, 3, 16, 8, 5);
      },
    },
    {
      name: 'leaves no intermediate tensors behind',
      points: 1,
      run({ prependClassToken }) {
        const tokens = tf.ones([2, 4, 3]) as tf.Tensor3D;
        const cls = tf.zeros([1, 1, 3]) as tf.Tensor3D;
        const pos = tf.zeros([1, 5, 3]) as tf.Tensor3D;
        const before = tf.memory().numTensors;
        prependClassToken(tokens, cls, pos);
        const extra = tf.memory().numTensors - before - 1;
        check(
          extra <= 0,
          `prependClassToken left ${extra} intermediate tensor(s) besides its result. Hint: wrap the body in tf.tidy(() => ...)`,
        );
        run(prependClassToken, 2, 4, 3, 9);
      },
    },
  ],
});
