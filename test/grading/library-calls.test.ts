/**
 * Points mean learning (issue 12): an answer that calls the course library's own implementation
 * of the function under test earns nothing. test/fixtures/grading/library-calls/ answers every
 * exercise with such a one-line call; before `reimplements` withheld those exports, six of the first
 * nine exercises earned full marks this way.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { loadSpecs } from '../../tools/grading/framework';
import { gradeSubmission } from '../../tools/grading/grade';
import { ROOT } from '../helpers/grading';

const ANSWERS = path.join(ROOT, 'test', 'fixtures', 'grading', 'library-calls');

describe('answers that call the library under test', function () {
  this.timeout(600_000);

  it('every graded exercise withholds at least the library function of the same name', () => {
    // The exercise's own export names, where the library has one of the same name, must be
    // withheld; a spec that forgets `reimplements` would let a one-line call through.
    for (const spec of loadSpecs(path.join(ROOT, 'graded'))) {
      assert.ok(
        (spec.reimplements ?? []).length > 0,
        `${spec.chapter}/${spec.exercise}: reimplements is empty`,
      );
    }
  });

  it('score 0 in each of the fifteen exercises, and the feedback names the withheld function', () => {
    const report = gradeSubmission({ answers: ANSWERS });
    assert.equal(report.exercises.length, 15, report.exercises.map((e) => e.exercise).join(', '));
    for (const ex of report.exercises) {
      assert.equal(ex.earned, 0, `${ex.exercise} earned ${ex.earned} of ${ex.possible}`);
      const said = ex.tests.map((t) => t.feedback).join('\n');
      assert.match(
        said,
        new RegExp(`is not available while grading ${ex.exercise}`),
        `${ex.exercise}: ${said.slice(0, 400)}`,
      );
    }
  });
});
