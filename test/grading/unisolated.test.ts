/**
 * Where the OS cannot isolate (forced here by pointing ATTENTION_GRADER_BWRAP at a missing
 * file): a student's self-check still runs and says isolation is off; instructor grading
 * (`--answers`, `--batch`) refuses unless `--allow-unisolated`, and then marks the results. The
 * fallback still keeps the library's link into the repository unreadable.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gradeBatch } from '../../tools/grading/batch';
import { BWRAP_ENV, isolationStatus } from '../../tools/grading/isolation';
import { ROOT, SUBMISSIONS } from '../helpers/grading';

const CLI = path.join(ROOT, 'tools', 'grading', 'cli.ts');
const OFF = { ...process.env, [BWRAP_ENV]: '/nonexistent/bwrap' };

function grade(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: OFF,
    timeout: 200_000,
  });
}

describe('grading without OS isolation', function () {
  this.timeout(300_000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unisolated-'));
    fs.cpSync(path.join(SUBMISSIONS, 'correct'), dir, { recursive: true });
    fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'grading', 'attacks', 'link-escape'), dir, {
      recursive: true,
    });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is detected when bwrap is missing, naming why', () => {
    const saved = process.env[BWRAP_ENV];
    process.env[BWRAP_ENV] = '/nonexistent/bwrap';
    try {
      const status = isolationStatus();
      assert.equal(status.isolated, false);
      assert.equal(status.mode, 'node-permissions-only');
      assert.match(status.detail, /bubblewrap not found at \/nonexistent\/bwrap/);
    } finally {
      if (saved === undefined) delete process.env[BWRAP_ENV];
      else process.env[BWRAP_ENV] = saved;
    }
  });

  it('refuses instructor grading (--answers) without --allow-unisolated, exit 2', () => {
    const run = grade(['--answers', dir, '00', 'softmax']);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /refusing to grade without OS isolation: bubblewrap not found/);
    assert.match(run.stderr, /--allow-unisolated/);
    assert.equal(run.stdout, '');
  });

  it('refuses a batch without allowUnisolated, before grading anything', async () => {
    const saved = process.env[BWRAP_ENV];
    process.env[BWRAP_ENV] = '/nonexistent/bwrap';
    const out = path.join(dir, '..', `${path.basename(dir)}-out`);
    try {
      await assert.rejects(
        gradeBatch({ submissions: path.dirname(dir), out, log: () => {} }),
        /refusing to grade without OS isolation/,
      );
      assert.ok(!fs.existsSync(out));
    } finally {
      if (saved === undefined) delete process.env[BWRAP_ENV];
      else process.env[BWRAP_ENV] = saved;
    }
  });

  it('grades with --allow-unisolated, says so once, marks the results, and the link stays shut', () => {
    const json = path.join(dir, '..', `${path.basename(dir)}.json`);
    try {
      const run = grade(['--answers', dir, '00', 'softmax', '--allow-unisolated', '--json', json]);
      assert.equal(run.status, 0, run.stderr);
      const lines = run.stderr.split('\n').filter((l) => /OS isolation is off/.test(l));
      assert.equal(lines.length, 1, run.stderr);
      const report = JSON.parse(fs.readFileSync(json, 'utf8'));
      assert.equal(report.isolation, 'node-permissions-only');
      // The link-escape answer is right apart from its attack, which Node's permission model
      // refuses here too (only the copy and the needed packages are readable): 5/5.
      assert.equal(report.earned, 5, JSON.stringify(report.exercises[0].tests));
      assert.ok(!JSON.stringify(report).includes('Reference answer to exercise 00.1'));
    } finally {
      fs.rmSync(json, { force: true });
    }
  });

  it("still runs a student's self-check, with one line saying isolation is off", () => {
    const run = grade(['00', 'softmax']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /^grade: OS isolation is off \(bubblewrap not found/m);
    assert.match(run.stdout, /Chapter 00-minds-and-machines: \d+\/5 points/);
  });
});
