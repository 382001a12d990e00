/**
 * Graded tests of exercise 03.3 (the greedy decoding loop). The decoder is the library's table
 * decoder (`src/decode/table-decoder.ts`): example b's next token after `prev` is `table[b][prev]`,
 * with certainty, so the expected outputs are written here by following the tables by hand.
 */
import * as tf from '@tensorflow/tfjs';
import type { StepDecoder } from '../../src/decode/step-decoder';
import type { TableDecoderState } from '../../src/decode/table-decoder';
import { check, defineExercise } from '../../tools/grading/framework';
import { libraryFunction } from '../../tools/grading/wire';
import type * as Answers from '../../exercises/03-bahdanau-attention/greedy-loop';

/**
 * The table decoder as a plain object of library functions: it can be sent to an answer in its
 * sandbox, which calls its own copy of the library.
 */
function decoder(): StepDecoder<TableDecoderState> {
  return {
    start: libraryFunction('decode/table-decoder', 'tableDecoderStart'),
    step: libraryFunction('decode/table-decoder', 'tableDecoderStep'),
  };
}

interface Case {
  tables: number[][];
  bos: number;
  eos: number;
  maxLen: number;
  expected: number[][];
}

/** Tokens 0..5, bos 0, eos 1; three examples that end after 3, 1 and 4 tokens. */
const STAGGERED: Case = {
  tables: [
    [3, 5, 0, 4, 1, 0], // 0 -> 3 -> 4 -> 1 (eos); fed after its eos, it would say 5
    [1, 2, 3, 3, 3, 3], // 0 -> 1 (eos); then 2
    [2, 4, 5, 1, 0, 3], // 0 -> 2 -> 5 -> 3 -> 1 (eos)
  ],
  bos: 0,
  eos: 1,
  maxLen: 10,
  expected: [[3, 4, 1], [1], [2, 5, 3, 1]],
};

/** Example 0 never produces the eos (2 -> 3 -> 2 ...): it stops at maxLen = 5. */
const ENDLESS: Case = {
  tables: [
    [2, 0, 3, 2], // 0 -> 2 -> 3 -> 2 -> 3 -> 2 (maxLen)
    [3, 0, 0, 1], // 0 -> 3 -> 1 (eos)
  ],
  bos: 0,
  eos: 1,
  maxLen: 5,
  expected: [
    [2, 3, 2, 3, 2],
    [3, 1],
  ],
};

/** Other bos and eos ids (bos 4, eos 0), and an example that finishes at the first step. */
const OTHER_IDS: Case = {
  tables: [
    [1, 1, 1, 1, 0], // 4 -> 0 (eos)
    [1, 3, 0, 1, 2], // 4 -> 2 -> 0 (eos)
  ],
  bos: 4,
  eos: 0,
  maxLen: 6,
  expected: [[0], [2, 0]],
};

const call = (c: Case) =>
  `greedyLoop(tableDecoder, src ${JSON.stringify(c.tables)}, bos ${c.bos}, eos ${c.eos}, maxLen ${c.maxLen})`;

/** What differs between the answer's lists and the expected ones, with the mistake it shows. */
function mistake(got: number[][], c: Case): string {
  const ex = c.expected;
  const show = `expected ${JSON.stringify(ex)}, got ${JSON.stringify(got)}`;
  if (got.length !== ex.length) return `${show}: return one list per example (${ex.length})`;
  const starts = (a: number[], p: number[]) => p.every((t, i) => a[i] === t);
  if (got.every((g, b) => g[0] === c.bos && starts(g.slice(1), ex[b]))) {
    return `${show}: leave the bos (${c.bos}) out of the lists: they hold the generated tokens`;
  }
  const last = (a: number[]) => a[a.length - 1];
  if (got.some((g, b) => last(ex[b]) === c.eos && g.length > ex[b].length && starts(g, ex[b]))) {
    return `${show}: an example that has produced the eos (${c.eos}) is finished: keep feeding it, but add nothing more to its list, and stop when every example has finished`;
  }
  if (got.every((g, b) => starts(ex[b], g)) && got.some((g, b) => g.length < ex[b].length)) {
    if (got.every((g, b) => last(ex[b]) === c.eos && g.length === ex[b].length - 1)) {
      return `${show}: keep the eos (${c.eos}) at the end of each finished list`;
    }
    return `${show}: the loop stopped too early: stop when EVERY example has produced the eos (or after maxLen steps), not the first one`;
  }
  if (
    got.some((g) => g.length > 1) &&
    got.every((g, b) => g.every((t) => t === c.tables[b][c.bos]))
  ) {
    return `${show}: every step was fed the bos: feed back the token chosen at the previous step (argmax of each row of the logits)`;
  }
  return `${show}: at each step feed back the argmax of each row of the logits, starting from the bos`;
}

/** Runs the answer on `c` and fails with the mistake unless it returns `c.expected`. */
function agrees(answer: typeof Answers.greedyLoop, c: Case): void {
  const src = tf.tensor2d(c.tables, undefined, 'int32');
  const got: unknown = answer(decoder(), src, c.bos, c.eos, c.maxLen);
  const lists =
    Array.isArray(got) &&
    got.every((g) => Array.isArray(g) && g.every((t) => typeof t === 'number'));
  check(
    lists,
    `${call(c)}: expected an array of token lists (number[][]), got ${String(got).slice(0, 200)}`,
  );
  const rows = got as number[][];
  check(JSON.stringify(rows) === JSON.stringify(c.expected), `${call(c)}: ${mistake(rows, c)}`);
}

export const greedyLoopSpec = defineExercise<typeof Answers>({
  chapter: '03-bahdanau-attention',
  exercise: 'greedy-loop',
  // The library's greedy decoding is withheld while this is graded.
  reimplements: ['greedyDecode'],
  file: 'greedy-loop.ts',
  title: 'The greedy decoding loop',
  tests: [
    {
      name: 'decodes a batch whose examples end at different steps (eos included, nothing after it)',
      points: 2,
      run({ greedyLoop }) {
        agrees(greedyLoop, STAGGERED);
      },
    },
    {
      name: 'stops after maxLen tokens when an example never produces the eos',
      points: 1,
      run({ greedyLoop }) {
        agrees(greedyLoop, ENDLESS);
      },
    },
    {
      name: 'uses the bos and eos it is given (here bos 4, eos 0)',
      points: 1,
      run({ greedyLoop }) {
        agrees(greedyLoop, OTHER_IDS);
      },
    },
    {
      name: 'leaves no tensors behind (states, logits and ids are freed)',
      points: 1,
      run({ greedyLoop }) {
        const src = tf.tensor2d(STAGGERED.tables, undefined, 'int32');
        const before = tf.memory().numTensors;
        const got = greedyLoop(decoder(), src, STAGGERED.bos, STAGGERED.eos, STAGGERED.maxLen);
        const extra = tf.memory().numTensors - before;
        check(
          extra <= 0,
          `${call(STAGGERED)} left ${extra} tensor(s) in memory. Hint: run the loop inside ` +
            "tf.tidy(() => { ... }), or dispose each step's logits, ids and old state",
        );
        check(
          JSON.stringify(got) === JSON.stringify(STAGGERED.expected),
          `${call(STAGGERED)}: ${mistake(got, STAGGERED)}`,
        );
      },
    },
  ],
});
