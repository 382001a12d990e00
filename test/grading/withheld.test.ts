/**
 * Points mean learning (issue 12): while an exercise is graded, the library exports it declares
 * in `reimplements` are replaced in the sandbox's copy of the library by functions that throw,
 * whether the answer imports them from 'attention-hands-on' or from the defining module; the
 * rest of the library still works, and the grader's own library is untouched.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { maskedSoftmax as trusted } from '../../src/attention/softmax';
import { defineExercise } from '../../tools/grading/framework';
import { prepareSubmission, type PreparedSubmission } from '../../tools/grading/prepare';
import { SandboxSession } from '../../tools/grading/sandbox';

const PROBE = `
import * as tf from '@tensorflow/tfjs';
import * as ah from 'attention-hands-on';
import { maskedSoftmax } from '../../src/attention/softmax';
export function viaIndex(x: tf.Tensor): tf.Tensor { return ah.maskedSoftmax(x); }
export function viaModule(x: tf.Tensor): tf.Tensor { return maskedSoftmax(x); }
export function stillThere(x: tf.Tensor): tf.Tensor { return ah.softmax(x); }
`;

describe('library exports withheld while their exercise is graded', function () {
  this.timeout(120_000);
  let answers: string;
  let prepared: PreparedSubmission;
  let session: SandboxSession;

  before(() => {
    answers = fs.mkdtempSync(path.join(os.tmpdir(), 'withheld-'));
    fs.mkdirSync(path.join(answers, '99-probe'));
    fs.writeFileSync(path.join(answers, '99-probe', 'probe.ts'), PROBE);
    prepared = prepareSubmission(answers);
    session = new SandboxSession({ callMs: 5000 });
  });
  after(() => {
    session.close();
    prepared.cleanup();
    fs.rmSync(answers, { recursive: true, force: true });
  });

  it('throws "not available while grading" through the index and the module, nothing else', () => {
    const opened = session.open(prepared.dir, '99-probe/probe.ts', Infinity, {
      exercise: 'masked-softmax',
      names: ['maskedSoftmax'],
    });
    assert.ok('module' in opened, JSON.stringify(opened));
    const probe = opened.module as Record<string, (x: tf.Tensor) => tf.Tensor>;
    tf.tidy(() => {
      const x = tf.tensor2d([
        [1, 2],
        [3, 5],
      ]);
      for (const name of ['viaIndex', 'viaModule']) {
        assert.throws(
          () => probe[name](x),
          /the library's maskedSoftmax is not available while grading masked-softmax/,
          name,
        );
      }
      // softmax of [1, 2] is [1, e] / (1 + e) = [0.2689, 0.7311] (by hand).
      const row = (probe.stillThere(x).arraySync() as number[][])[0];
      assert.ok(Math.abs(row[0] - 0.2689) < 1e-3 && Math.abs(row[1] - 0.7311) < 1e-3, `${row}`);
      // The grader's own library is not touched.
      assert.equal(trusted(x).shape.join(','), '2,2');
    });
  });

  it('names a library export that does not exist', () => {
    const opened = session.open(prepared.dir, '99-probe/probe.ts', Infinity, {
      exercise: 'x',
      names: ['noSuchFunction'],
    });
    assert.ok('failure' in opened);
    assert.match(opened.failure, /the library has no function noSuchFunction to withhold/);
  });

  it('checks the names an exercise declares', () => {
    assert.throws(
      () =>
        defineExercise({
          chapter: '00-x',
          exercise: 'x',
          file: 'x.ts',
          title: 'X',
          reimplements: ['not a name'],
          tests: [],
        }),
      /x: reimplements must be names of library exports, got \["not a name"\]/,
    );
  });
});
