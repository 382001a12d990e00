/**
 * The student edition (`npm run release`): what it leaves out, how it strips notebooks, what it
 * refuses to overwrite, and that it works as a repository of its own: it installs, its
 * `npm test` passes, and `npm run grade` there scores the stubs at zero.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../tools/command';
import { loadSpecs } from '../tools/grading/framework';
import {
  buildStudentEdition,
  instructorOnly,
  STUB_CELL,
  studentNotebook,
  type ReleaseSummary,
} from '../tools/release';

const ROOT = path.resolve(__dirname, '..');

describe('student edition', function () {
  this.timeout(20 * 60_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edition-'));
  const out = path.join(tmp, 'edition');
  let summary: ReleaseSummary;

  before(async () => {
    summary = await buildStudentEdition({ out });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('leaves out solutions, hidden tests, the grader fixtures, instructor tests and tools', () => {
    for (const gone of [
      'solutions',
      'test/fixtures/grading',
      '.ci',
      'tools/release.ts',
      'test/grading/hostile.test.ts',
      'test/grading/contract.test.ts',
    ]) {
      assert.ok(!fs.existsSync(path.join(out, gone)), `${gone} is in the student edition`);
    }
    for (const kept of [
      'exercises/02-scoring-functions/masked-softmax.ts',
      'graded/02-scoring-functions/masked-softmax.ts',
      'tools/grading/cli.ts',
      'src/index.ts',
      'package-lock.json',
    ]) {
      assert.ok(fs.existsSync(path.join(out, kept)), `${kept} is missing`);
    }
    assert.ok(summary.excluded.includes('solutions/02-scoring-functions/masked-softmax.ts'));
    const everything = summary.files
      .map((f) => fs.readFileSync(path.join(out, f), 'latin1'))
      .join('\n');
    for (const secret of [
      'Subtracting the row maximum makes the largest exponent 0',
      'HIDDEN-TEST-SOURCE-MARKER-5d1c',
    ]) {
      assert.ok(!everything.includes(secret), `the edition contains "${secret}"`);
    }
  });

  it('tells instructor-only files apart', () => {
    const cases: [string, string, boolean][] = [
      ['solutions/00-x/a.ts', '', true],
      ['test/fixtures/grading/hidden/00-x/a.ts', '', true],
      ['test/grading/contract.test.ts', "const SOLUTIONS = path.join(ROOT, 'solutions');", true],
      ['test/attention/softmax.test.ts', "import { softmax } from '../../src';", false],
      ['src/course/self-check.ts', "answers: 'exercises' | 'solutions'", false],
      ['.ci/run', '', true],
    ];
    for (const [rel, text, expected] of cases)
      assert.equal(instructorOnly(rel, text), expected, rel);
  });

  it('ships notebooks without outputs, and replaces solution cells by stubs', () => {
    for (const f of fs
      .readdirSync(path.join(out, 'notebooks'))
      .filter((n) => n.endsWith('.ipynb'))) {
      const nb = JSON.parse(fs.readFileSync(path.join(out, 'notebooks', f), 'utf8'));
      for (const cell of nb.cells.filter((c: { cell_type: string }) => c.cell_type === 'code')) {
        assert.deepEqual([cell.outputs, cell.execution_count], [[], null], f);
      }
    }
    const file = path.join(tmp, 'with-solution.ipynb');
    const cell = (source: string, metadata = {}) => ({
      cell_type: 'code',
      metadata,
      source,
      outputs: [{ output_type: 'stream', name: 'stdout', text: 'x' }],
      execution_count: 3,
    });
    fs.writeFileSync(
      file,
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [cell('const a = 1;\n'), cell('secretAnswer();\n', { solution: true })],
      }),
    );
    const stripped = studentNotebook(file);
    const nb = JSON.parse(stripped.json);
    assert.equal(stripped.solutions, 1);
    assert.deepEqual(nb.cells[0].source, ['const a = 1;\n']);
    assert.deepEqual(nb.cells[1].source, [STUB_CELL]);
    assert.deepEqual(nb.cells[1].metadata, {});
    assert.ok(!stripped.json.includes('secretAnswer'));
  });

  it('has a student README and scripts that work there', () => {
    const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    assert.match(readme, /student edition/);
    assert.match(readme, /npm run grade -- 02 masked/);
    assert.match(
      readme,
      // Exercises in the notebooks' order: 02.1 masked-softmax, 02.2 additive-scores, 02.3 ...
      /\| 02-scoring-functions +\| masked-softmax, additive-scores, scaled-dot-product \| +18 \|/,
    );
    const pkg = JSON.parse(fs.readFileSync(path.join(out, 'package.json'), 'utf8'));
    assert.equal(pkg.scripts.test, 'npm run typecheck && npm run grade');
    assert.equal(pkg.scripts.release, undefined);
    const tsconfig = JSON.parse(fs.readFileSync(path.join(out, 'tsconfig.json'), 'utf8'));
    assert.equal(tsconfig.compilerOptions.noUnusedLocals, false);
  });

  it('refuses a non-empty folder without --force, and a folder holding the repository', async () => {
    await assert.rejects(
      buildStudentEdition({ out }),
      (e: unknown) => e instanceof UsageError && /is not empty .*add --force/.test(e.message),
    );
    fs.writeFileSync(path.join(out, 'stale.txt'), 'old');
    await buildStudentEdition({ out, force: true });
    assert.ok(!fs.existsSync(path.join(out, 'stale.txt')));
    await assert.rejects(
      buildStudentEdition({ out: path.dirname(ROOT), force: true }),
      /must not contain the repository/,
    );
    await assert.rejects(
      buildStudentEdition({ out: path.join(ROOT, 'src', 'x'), force: true }),
      /inside the repository must be under build\//,
    );
    assert.ok(fs.existsSync(path.join(ROOT, 'src', 'index.ts')));
  });

  it('installs, passes its npm test, and grades the stubs at zero', () => {
    const run = (args: string[]) => {
      const r = spawnSync('npm', args, {
        cwd: out,
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
      });
      assert.equal(
        r.status,
        0,
        `npm ${args.join(' ')} failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`,
      );
      return r.stdout;
    };
    run(['ci', '--prefer-offline', '--no-audit', '--no-fund']);
    // Every graded point of the course: the stubs earn none of them.
    const possible = loadSpecs(path.join(ROOT, 'graded'))
      .flatMap((s) => s.tests)
      .reduce((sum, t) => sum + t.points, 0);
    // The edition's own `npm test` (type-check, then grade every chapter), asked through npm's
    // argument passing for the JSON report too, so that the whole course is graded once here.
    assert.ok(!fs.existsSync(path.join(out, 'results.json')), 'a results.json before grading');
    const tested = run(['test', '--', '--', '--json', 'results.json']);
    assert.match(tested, new RegExp(`Total: 0/${possible} points`));
    const report = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    assert.deepEqual([report.earned, report.possible], [0, possible]);

    // A learner fills one stub the obvious way: its body replaced by a working one, its imports
    // (now with an unused notImplemented) kept. The student edition's npm test still passes.
    const file = path.join(out, 'exercises', '02-scoring-functions', 'masked-softmax.ts');
    const stub = fs.readFileSync(file, 'utf8');
    const filled = stub.replace(
      /(export function maskedSoftmax\([^)]*\): tf\.Tensor3D \{)[\s\S]*\n\}\n?$/,
      `$1
  return tf.tidy(() => {
    const keep = tf.less(tf.range(0, scores.shape[2]), tf.reshape(validLens, [-1, 1, 1]));
    const masked = tf.where(keep, scores, tf.fill(scores.shape, -Infinity));
    return tf.where(keep, tf.softmax(masked), tf.zerosLike(scores)) as tf.Tensor3D;
  });
}
`,
    );
    assert.notEqual(filled, stub, 'the stub no longer has the expected signature');
    assert.match(filled, /import \{ notImplemented \}/);
    fs.writeFileSync(file, filled);
    // The type-check covers every file; grading the edited chapter is enough to see it pass.
    const after = run(['test', '--', '--', '02']);
    assert.match(after, /Chapter 02-scoring-functions: [1-9]\d*\/\d+ points/);
    assert.match(after, /masked-softmax/);
    assert.doesNotMatch(after, /Total: 0\//);
  });
});
