/**
 * `npm run grade`: the command line (parsed options and usage errors), and the command itself
 * run as a learner or CI runs it: reference answers at full marks, stubs at zero, exit codes,
 * the JSON and GitHub Classroom outputs, and output that a submission cannot fake or fill with
 * secrets.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from '../../tools/grading/cli';
import type { SubmissionReport } from '../../tools/grading/grade';
import type { ClassroomResult } from '../../tools/grading/report';
import { assembleCase, HIDDEN, ROOT } from '../helpers/grading';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'grade-cli-'));

/** Runs `npm run grade -- ...args` the way npm does (tsx on the CLI), with a clean GITHUB_OUTPUT. */
function grade(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'tools/grading/cli.ts'), ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, GITHUB_OUTPUT: '', ...env },
    },
  );
  return { status: run.status, out: run.stdout, err: run.stderr };
}

describe('npm run grade: options', () => {
  it('reads chapter, exercise and every option', () => {
    const o = parseArgs([
      '01',
      'kern',
      '--solutions',
      '--hidden',
      'h',
      '--json',
      'r.json',
      '--classroom',
      'c.json',
      '--strict',
    ]);
    assert.equal(o.chapter, '01');
    assert.equal(o.exercise, 'kern');
    assert.equal(o.answers, path.join(ROOT, 'solutions'));
    assert.equal(o.hidden, path.resolve('h'));
    assert.equal(o.json, path.resolve('r.json'));
    assert.equal(o.classroom, path.resolve('c.json'));
    assert.equal(o.strict, true);
    assert.equal(parseArgs([]).answers, path.join(ROOT, 'exercises'));
    const batch = parseArgs(['--batch', 'subs', '--out', 'res', '--workers', '3']);
    assert.deepEqual(
      [batch.batch, batch.out, batch.workers],
      [path.resolve('subs'), path.resolve('res'), 3],
    );
  });

  it('names what it expected and what it got on bad usage', () => {
    const cases: [string[], RegExp][] = [
      [['--json'], /--json expects a value, got nothing/],
      [['--answers', '--strict'], /--answers expects a value, got "--strict"/],
      [['--bogus'], /unknown option "--bogus"; expected one of --solutions/],
      [['a', 'b', 'c'], /expected at most \[chapter\] \[exercise\], got 3 names: a b c/],
      [['--solutions', '--answers', 'x'], /expected --solutions or --answers DIR, got both/],
      [['--batch', 'x'], /--batch expects --out RESULTS_DIR too, got no --out/],
      [['--batch', 'x', '--out', 'y', '02'], /--batch grades whole submissions/],
      [['--workers', '2'], /--out and --workers go with --batch/],
      [
        ['--batch', 'x', '--out', 'y', '--workers', '0'],
        /--workers expects an integer >= 1, got "0"/,
      ],
    ];
    for (const [args, message] of cases)
      assert.throws(() => parseArgs(args), message, args.join(' '));
  });
});

describe('npm run grade: the command', function () {
  this.timeout(180_000);
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('gives the reference solutions full marks in every chapter, and exits 0', () => {
    const json = path.join(tmp, 'solutions.json');
    const run = grade(['--solutions', '--json', json, '--strict']);
    assert.equal(run.status, 0, run.err);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as SubmissionReport;
    const chapters = fs.readdirSync(path.join(ROOT, 'graded')).sort();
    assert.deepEqual([...new Set(report.exercises.map((e) => e.chapter))], chapters);
    for (const e of report.exercises)
      assert.equal(e.earned, e.possible, `${e.chapter}/${e.exercise}`);
    assert.ok(report.possible > 0);
    assert.match(run.out, new RegExp(`Total: ${report.possible}/${report.possible} points`));
    for (const chapter of chapters)
      assert.match(run.out, new RegExp(`Chapter ${chapter}: \\d+/\\d+ points`));
  });

  // One chapter proves the command's behaviour on stubs; that every stub of every chapter earns
  // zero is checked per exercise by contract.test.ts, and through `npm run grade` over the whole
  // course by the student edition's own npm test (release.test.ts).
  it('gives the untouched stubs zero, exits 0 without --strict and 1 with it', () => {
    const json = path.join(tmp, 'stubs.json');
    const run = grade(['02', '--json', json]);
    assert.equal(run.status, 0, run.err);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as SubmissionReport;
    assert.equal(report.earned, 0);
    assert.ok(report.possible > 0);
    assert.deepEqual(
      [...new Set(report.exercises.map((e) => e.chapter))],
      ['02-scoring-functions'],
    );
    assert.equal(report.exercises.length, 3);
    for (const t of report.exercises.flatMap((e) => e.tests))
      assert.match(t.feedback, /not implemented yet \(exercises\//);
    assert.match(run.out, /FAIL\n +not implemented yet/);
    assert.equal(grade(['02', 'masked', '--strict']).status, 1);
  });

  it('grades one chapter or one exercise by prefix, and exits 2 naming the chapters on a wrong one', () => {
    const one = grade(['02', 'masked', '--solutions']);
    assert.equal(one.status, 0, one.err);
    assert.match(one.out, /Chapter 02-scoring-functions: 5\/5 points/);
    assert.doesNotMatch(one.out, /Chapter 00|additive-scores/);
    const wrong = grade(['09']);
    assert.equal(wrong.status, 2);
    assert.match(
      wrong.err,
      /no chapter matches "09"; chapters: 00-minds-and-machines, 01-attention-pooling, 02-scoring-functions/,
    );
    const usage = grade(['--nope']);
    assert.equal(usage.status, 2);
    assert.match(usage.err, /unknown option "--nope"[^]*usage: npm run grade/);
  });

  it('writes the GitHub Classroom result (and its base64 step output), hidden tests included', () => {
    const answers = assembleCase('nan');
    const file = path.join(tmp, 'classroom.json');
    const output = path.join(tmp, 'github-output');
    const run = grade(['00', '--answers', answers, '--hidden', HIDDEN, '--classroom', file], {
      GITHUB_OUTPUT: output,
    });
    assert.equal(run.status, 0, run.err);
    const result = JSON.parse(fs.readFileSync(file, 'utf8')) as ClassroomResult;
    // nan: softmax-temperature 3/5 and hidden 1/3, entropy 4/4, hard-vs-soft 6/6.
    assert.equal(result.version, 1);
    assert.equal(result.status, 'fail');
    assert.equal(result.max_score, 18);
    assert.equal(result.tests.length, 3 + 5 + 4 + 2);
    assert.equal(
      result.tests.reduce((s, t) => s + t.score, 0),
      14,
    );
    const hidden = result.tests.filter((t) => t.name.startsWith('hidden: '));
    assert.deepEqual(
      hidden.map((t) => [t.status, t.score]),
      [
        ['pass', 1],
        ['fail', 0],
      ],
    );
    assert.match(hidden[1].message, /got NaN/);
    const line = fs.readFileSync(output, 'utf8').trim();
    assert.match(line, /^result=[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(
      JSON.parse(Buffer.from(line.slice('result='.length), 'base64').toString()),
      result,
    );
    assert.match(run.out, /Hidden tests, chapter 00-minds-and-machines: 1\/3 points/);
    assert.match(run.out, /Total: 14\/18 points \(graded tests 13\/15, hidden tests 1\/3\)/);
  });

  it('shows nothing a submission prints, and no secret it tried to read', () => {
    for (const name of ['fake-output', 'read-secrets']) {
      const answers = assembleCase(name);
      const json = path.join(tmp, `${name}.json`);
      const run = grade(['00', '--answers', answers, '--hidden', HIDDEN, '--json', json]);
      assert.equal(run.status, 0, run.err);
      const everything = run.out + run.err + fs.readFileSync(json, 'utf8');
      for (const text of [
        '15 passed, 0 failed',
        'full marks',
        'softmax-temperature 5/5 pass',
        'Total: 15/15',
        'Subtracting the row maximum makes the largest exponent 0',
        'HIDDEN-TEST-SOURCE-MARKER-5d1c',
      ]) {
        assert.ok(!everything.includes(text), `${name}: the output contains "${text}"`);
      }
      assert.match(run.out, /Total: 10\/18 points/);
    }
  });
});
