import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { gradeChapter, selfCheck, selfCheckText } from '../../src/course/self-check';
import { setDisplaySink, type MimeBundle } from '../../src/viz/display';
import type { SelfCheckReport } from '../../src/course/self-check';

describe('self-check (the last cell of every chapter)', function () {
  this.timeout(180_000); // a graded chapter takes ~10 s alone, several times that under load
  // The stubs of chapter 02, graded once for the two tests that read the report (each grading
  // is a child process, so independent ones run side by side on the second core).
  let stubs: Promise<SelfCheckReport> | null = null;
  const stubReport = () => (stubs ??= gradeChapter('02-scoring-functions', 'exercises'));

  it('gives the reference solutions full marks and the stubs zero, in a child process', async () => {
    const [solved, unsolved] = await Promise.all([
      gradeChapter('02-scoring-functions', 'solutions'),
      stubReport(),
    ]);
    assert.ok(solved.possible > 0);
    assert.equal(solved.earned, solved.possible);
    assert.equal(unsolved.earned, 0);
    assert.equal(unsolved.possible, solved.possible);
    assert.match(
      selfCheckText(unsolved),
      /FAIL\n\s+not implemented yet \(exercises\/02-scoring-functions\/masked-softmax\.ts\)/,
    );
  });

  it('shows the same table as `npm run grade -- 02` prints in a terminal', async () => {
    const root = path.resolve(__dirname, '../..');
    const [{ stdout: terminal }, report] = await Promise.all([
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', path.join(root, 'tools/grading/cli.ts'), '02'],
        { cwd: root, encoding: 'utf8' },
      ),
      stubReport(),
    ]);
    const text = selfCheckText(report);
    assert.match(text, /^Chapter 02-scoring-functions: 0\/\d+ points\n/);
    assert.match(text, /\nTotal: 0\/\d+ points$/);
    // The terminal prints a "Grading exercises (N s)" line first, then exactly this report.
    assert.ok(terminal.trimEnd().endsWith(text), `terminal:\n${terminal}\nnotebook:\n${text}`);
  });

  it('shows one table with the total and feedback, and returns nothing', async () => {
    const shown: MimeBundle[] = [];
    setDisplaySink((bundle) => shown.push(bundle));
    try {
      assert.equal(await selfCheck('02-scoring-functions'), undefined);
    } finally {
      setDisplaySink(null);
    }
    assert.equal(shown.length, 1);
    assert.match(String(shown[0]['text/html']), /Chapter 02-scoring-functions: 0\/\d+ points/);
    assert.match(String(shown[0]['text/plain']), /not implemented yet/);
  });

  it('names the chapters when asked for one that has no graded exercises', async () => {
    await assert.rejects(
      gradeChapter('09-no-such-chapter'),
      /no graded exercises for chapter "09-no-such-chapter"; chapters: .*02-scoring-functions/,
    );
    await assert.rejects(
      gradeChapter('scoring'),
      /expected a chapter folder like "02-scoring-functions", got "scoring"/,
    );
  });
});
