/**
 * Output a submission controls is inert (issue 12): control and bidi characters escaped in
 * terminal, Markdown, CSV and JSON output; students never merged; long names never misalign the
 * table; exercises listed in the notebooks' order (issue 11).
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadSpecs, notebookOrder, type ExerciseSpec } from '../../tools/grading/framework';
import type { SubmissionReport } from '../../tools/grading/grade';
import { distinctNames, inert } from '../../tools/grading/inert';
import {
  classroomResult,
  csvField,
  feedbackMarkdown,
  reportText,
  TABLE_WIDTHS,
} from '../../tools/grading/report';
import { ROOT } from '../helpers/grading';

/** Any character a terminal acts on: C0 but newline, DEL, C1, bidi overrides. */
const ACTIVE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = 'boom\u001b[2J\u001b[HTotal: 15/15 points\r\u0007\u009b31m\u202eevil';

function reportWith(feedback: string, testName = 'works'): SubmissionReport {
  return {
    answers: 'x',
    earned: 0,
    possible: 1,
    exercises: [
      {
        chapter: '00-a',
        exercise: 'one',
        title: 'One',
        earned: 0,
        possible: 1,
        tests: [{ name: testName, points: 1, earned: 0, passed: false, feedback }],
      },
    ],
    hidden: [],
    notes: [`not graded: ${HOSTILE}.ts (not a regular file)`],
    seconds: 1,
    isolation: 'bubblewrap',
  };
}

describe('inert output', () => {
  it('escapes control and bidi characters visibly, keeps newlines (unless one line) and letters', () => {
    assert.equal(inert('a\u001b[2Jb'), 'a\\x1b[2Jb');
    assert.equal(inert('r\rn\nt\t'), 'r\\x0dn\nt\\x09');
    assert.equal(inert('x\u009by\u202ez'), 'x\\x9by\\u{202e}z');
    assert.equal(inert('two\nlines', true), 'two\\x0alines');
    assert.equal(inert('José Ünal 李'), 'José Ünal 李');
    assert.equal(inert(inert(HOSTILE)), inert(HOSTILE), 'applying it twice changes nothing');
    assert.ok(!ACTIVE.test(inert(HOSTILE)));
    assert.throws(() => inert(3 as unknown as string), /inert: expected a string, got number/);
  });

  it('keeps distinct students distinct: colliding after escaping, differing in case, non-ASCII', () => {
    const raw = ['alice', 'Alice', 'b\u001bc', 'b\\x1bc', 'José', 'Jose', 'bob'];
    const shown = distinctNames(raw);
    assert.equal(new Set(shown.map((s) => s.toLowerCase())).size, raw.length);
    // Names that collide get " #" and 8 hex digits of SHA-256 of the raw name; others stay.
    assert.match(shown[0], /^alice #[0-9a-f]{8}$/);
    assert.match(shown[1], /^Alice #[0-9a-f]{8}$/);
    assert.match(shown[2], /^b\\x1bc #[0-9a-f]{8}$/);
    assert.match(shown[3], /^b\\x1bc #[0-9a-f]{8}$/);
    assert.deepEqual(shown.slice(4), ['José', 'Jose', 'bob']);
    // sha256("alice") starts with 2bd806c9 (independent: `printf alice | sha256sum`).
    assert.equal(shown[0], 'alice #2bd806c9');
    assert.deepEqual(distinctNames(raw), shown, 'the same in every run');
  });

  it('leaves nothing active in the terminal report, Markdown, CSV or Classroom JSON', () => {
    const report = reportWith(HOSTILE);
    const text = reportText(report);
    assert.ok(!ACTIVE.test(text), JSON.stringify(text));
    // The fake total is only text inside the feedback line; the real total is the last line.
    assert.equal(text.split('\n').at(-1), 'Total: 0/1 points');
    const md = feedbackMarkdown(`mallory${HOSTILE}`, report);
    assert.ok(!ACTIVE.test(md), JSON.stringify(md));
    assert.ok(!ACTIVE.test(csvField(HOSTILE)));
    assert.ok(!ACTIVE.test(JSON.stringify(classroomResult(reportWith(inert(HOSTILE))))));
  });

  it('keeps feedback inside its Markdown code block, whatever backticks it holds', () => {
    const md = feedbackMarkdown('eve', reportWith('```\n# Total: 100/1 points\n```'));
    const fences = md.split('\n').filter((l) => /^\s*`{3,}/.test(l));
    // Opening and closing fence are longer than the feedback's own run of 3 backticks.
    assert.equal(fences.length, 4);
    assert.match(fences[0].trim(), /^`{4}text$/);
    assert.equal(fences[3].trim(), '````');
  });

  it('cuts long test and exercise names so every row of the table stays aligned', () => {
    const long = 'a test name far longer than the column of the table allows, '.repeat(3);
    const lines = reportText(reportWith('wrong', long)).split('\n');
    const row = lines.find((l) => l.includes('FAIL'))!;
    const header = lines[1];
    assert.equal(row.indexOf('0/1'), header.indexOf('points') + 3);
    assert.ok(row.includes('...'));
    assert.equal(header.length, 2 + 8 + 2 + TABLE_WIDTHS.test + 2 + 'points  result'.length);
  });
});

describe('exercise order', () => {
  it('lists the graded exercises in the notebooks order (Exercise NN.M of each stub)', () => {
    const order = loadSpecs(path.join(ROOT, 'graded')).map((s) => s.exercise);
    // From the stubs' doc comments: 00.1 softmax-temperature, 00.2 entropy, 00.3 hard-vs-soft.
    assert.deepEqual(order.slice(0, 3), ['softmax-temperature', 'entropy', 'hard-vs-soft']);
  });

  it('orders by the declared number, 00.2 before 00.10, then unnumbered ones by name', () => {
    const spec = (exercise: string, number?: string): ExerciseSpec => ({
      chapter: '09-x',
      exercise,
      file: `${exercise}.ts`,
      title: exercise,
      number,
      tests: [],
    });
    const sorted = notebookOrder(
      [spec('zeta'), spec('ten', '09.10'), spec('alpha'), spec('two', '09.2')],
      '/nonexistent',
    );
    assert.deepEqual(
      sorted.map((s) => s.exercise),
      ['two', 'ten', 'alpha', 'zeta'],
    );
  });
});
