/** Grade reports: CSV quoting (RFC 4180, no spreadsheet formulas) and the terminal table. */
import * as assert from 'node:assert/strict';
import type { SubmissionReport } from '../../tools/grading/grade';
import { csvField, csvText, reportText } from '../../tools/grading/report';

describe('grade reports', () => {
  it('quotes CSV fields as RFC 4180 says, and defuses formulas in names', () => {
    const cases: [string | number, string][] = [
      ['alice', 'alice'],
      [7, '7'],
      ['Smith, Ann', '"Smith, Ann"'],
      ['say "hi"', '"say ""hi"""'],
      ['two\nlines', '"two\nlines"'],
      ['=HYPERLINK("x")', '"\'=HYPERLINK(""x"")"'],
      ['+1', "'+1"],
      ['@sum', "'@sum"],
    ];
    for (const [value, field] of cases) assert.equal(csvField(value), field, String(value));
    assert.equal(
      csvText([
        ['a', 1],
        ['b,c', 2],
      ]),
      'a,1\r\n"b,c",2\r\n',
    );
    assert.throws(() => csvField(NaN), /expected a finite number, got NaN/);
  });

  it('prints a table per chapter, feedback under failed tests once, and the total', () => {
    const fail = (name: string) => ({
      name,
      points: 1,
      earned: 0,
      passed: false,
      feedback: 'not implemented yet (x)',
    });
    const report: SubmissionReport = {
      answers: 'exercises',
      earned: 1,
      possible: 3,
      exercises: [
        {
          chapter: '00-a',
          exercise: 'one',
          title: 'One',
          earned: 1,
          possible: 3,
          tests: [
            { name: 'works', points: 1, earned: 1, passed: true, feedback: '' },
            fail('first'),
            fail('second'),
          ],
        },
      ],
      hidden: [],
      notes: [],
      seconds: 1,
      isolation: 'bubblewrap',
    };
    const lines = reportText(report).split('\n');
    assert.equal(lines[0], 'Chapter 00-a: 1/3 points');
    assert.match(lines[1], /^ {2}exercise {2}test {4}points {2}result$/);
    assert.match(lines[2], /^ {2}one {7}works {6}1\/1 {2}pass$/);
    assert.match(lines[3], /^ {12}first {6}0\/1 {2}FAIL$/);
    assert.equal(lines[4].trim(), 'not implemented yet (x)');
    assert.equal(lines[6].trim(), '(same as above)');
    assert.equal(lines.at(-1), 'Total: 1/3 points');
    assert.throws(
      () => reportText({} as SubmissionReport),
      /reportText: expected a SubmissionReport \(from gradeSubmission\), got \{\}/,
    );
  });
});
