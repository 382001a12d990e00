/**
 * Attacks on the grader's isolation (issue 12; fixtures and their history in
 * test/fixtures/grading/attacks/README.md). Each attack sits in an otherwise right answer: under
 * the sandbox it must earn exactly its 5 points and leave no trace (nothing read shows up, no
 * connection, no file, no signal, no tensor left in the grader). These tests need bubblewrap:
 * on a machine without it they fail, saying so, rather than running escapes against the runner.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { gradeSubmission, type SubmissionReport } from '../../tools/grading/grade';
import { isolationStatus } from '../../tools/grading/isolation';
import { assembleCase, ROOT, SUBMISSIONS } from '../helpers/grading';

const ATTACKS = path.join(ROOT, 'test', 'fixtures', 'grading', 'attacks');
const CHAPTER = '00-minds-and-machines';
/** Text only the reference solution, the hidden tests and the grader's environment contain. */
const SECRETS = [
  'Reference answer to exercise 00.1',
  'HIDDEN-TEST-SOURCE-MARKER-5d1c',
  fs.readFileSync('/etc/hostname', 'utf8').trim(),
  `PATH=${process.env.PATH}`,
];

/** The correct chapter-00 answers with the attack's file laid over them, in a new folder. */
function assemble(attack: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `attack-${attack}-`));
  fs.cpSync(path.join(SUBMISSIONS, 'correct'), dir, { recursive: true });
  fs.cpSync(path.join(ATTACKS, attack), dir, { recursive: true });
  return dir;
}

function grade(dir: string): SubmissionReport {
  return gradeSubmission({
    answers: dir,
    chapter: '00',
    exercise: 'softmax',
    limits: { callMs: 5000, loadMs: 5000 },
  });
}

function assertNothingLeaked(text: string): void {
  for (const secret of SECRETS)
    assert.ok(!text.includes(secret), `the report contains "${secret}"`);
  assert.ok(!text.includes('escaped:'), `an attack escaped: ${text.slice(0, 500)}`);
}

describe('grader isolation: attacks from a submission (bubblewrap)', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('runs on a machine where bubblewrap isolates the sandboxes', () => {
    const status = isolationStatus();
    assert.equal(status.isolated, true, `no OS isolation here: ${status.detail}`);
  });

  it('has a test for every attack folder', () => {
    const folders = fs
      .readdirSync(ATTACKS, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    assert.deepEqual(folders, [
      'forged-reply',
      'kill-parent',
      'link-escape',
      'network',
      'proc-environ',
      'sigusr1-inspector',
      'v8-logfile',
    ]);
  });

  for (const attack of ['link-escape', 'proc-environ']) {
    it(`${attack}: reads nothing outside its copy, and earns its 5 points`, () => {
      const dir = assemble(attack);
      dirs.push(dir);
      const report = grade(dir);
      assertNothingLeaked(JSON.stringify(report));
      assert.equal(report.isolation, 'bubblewrap');
      assert.equal(report.earned, 5);
    });
  }

  it('network: no connection reaches a listener on 127.0.0.1', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const dir = assemble('network');
      dirs.push(dir);
      const { port } = server.address() as net.AddressInfo;
      fs.writeFileSync(path.join(dir, CHAPTER, 'port.json'), JSON.stringify({ port }));
      const report = grade(dir);
      await new Promise((ok) => setTimeout(ok, 300));
      assert.equal(connections, 0);
      assert.equal(report.earned, 5);
    } finally {
      server.close();
    }
  });

  it('v8-logfile: V8 flags set inside the sandbox write no file, and the crash is named', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'attack-v8-out-'));
    dirs.push(out);
    const dir = assemble('v8-logfile');
    dirs.push(dir);
    const target = path.join(out, 'code-trace.txt');
    fs.writeFileSync(path.join(dir, CHAPTER, 'target.json'), JSON.stringify({ target }));
    const report = grade(dir);
    assert.deepEqual(fs.readdirSync(out), []);
    // V8 cannot open the file in a read-only sandbox and aborts: the answer loses its points,
    // and the feedback says what happened (not "process.exit()").
    assert.equal(report.earned, 0);
    const feedback = report.exercises[0].tests[0].feedback;
    assert.match(feedback, /crashed the Node process \(SIG[A-Z]+\)|tried to write a file/);
  });

  it('forged-reply: forged frames cost the answer its points, never the grader memory or a bounded report', () => {
    const dir = assemble('forged-reply');
    dirs.push(dir);
    const before = tf.memory().numTensors;
    const report = grade(dir);
    // No tensor of the answer's (its exported constant, forged results) stays in the grader.
    assert.equal(tf.memory().numTensors, before);
    assert.equal(report.earned, 0);
    const feedback = report.exercises.flatMap((e) => e.tests.map((t) => t.feedback));
    assert.equal(feedback.length, 4);
    for (const f of feedback) {
      assert.ok(f.length > 0 && f.length <= 4000, `feedback of ${f.length} characters`);
    }
    assert.ok(JSON.stringify(report).length < 50_000);
  });

  it('kill-parent and sigusr1-inspector: the grading process survives, opens no inspector, and grades both', () => {
    for (const attack of ['kill-parent', 'sigusr1-inspector']) {
      const dir = assemble(attack);
      dirs.push(dir);
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', path.join(__dirname, 'grade-attack.ts'), dir],
        { cwd: ROOT, encoding: 'utf8', timeout: 100_000 },
      );
      assert.equal(run.signal, null, `${attack}: the grading process was killed by ${run.signal}`);
      assert.equal(run.status, 0, `${attack}: ${run.stderr}`);
      const result = JSON.parse(run.stdout) as { earned: number; inspector: string | null };
      assert.equal(result.inspector, null, `${attack}: the grader opened its inspector`);
      assert.equal(result.earned, 5, `${attack}: ${run.stdout}`);
    }
  });

  it('kills every sandbox when the grader dies (SIGKILL), leaving no process behind', async () => {
    const dir = assembleCase('loop-at-import');
    dirs.push(dir);
    const grader = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'grade-attack.ts'), dir, 'entropy'],
      { cwd: ROOT, stdio: 'ignore' },
    );
    const parentOf = (pid: string): number => {
      try {
        return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      } catch {
        return -1;
      }
    };
    // Every process below the grader: prlimit/bwrap and the sandbox's node.
    const below = (): string[] => {
      const pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
      const tree = new Set([String(grader.pid)]);
      for (let grew = true; grew;) {
        grew = false;
        for (const p of pids) {
          if (!tree.has(p) && tree.has(String(parentOf(p)))) {
            tree.add(p);
            grew = true;
          }
        }
      }
      tree.delete(String(grader.pid));
      return [...tree];
    };
    const sandbox = (pid: string) => {
      try {
        return /bwrap|sandbox-child\.js/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    };
    let seen: string[] = [];
    const until = Date.now() + 60_000;
    while (Date.now() < until && seen.length === 0) {
      seen = below().filter(sandbox);
      await new Promise((ok) => setTimeout(ok, 200));
    }
    assert.ok(seen.length > 0, 'no sandbox started under the grader');
    grader.kill('SIGKILL');
    const gone = Date.now() + 10_000;
    const alive = () => seen.filter((p) => fs.existsSync(`/proc/${p}`) && sandbox(p));
    while (alive().length > 0 && Date.now() < gone) await new Promise((ok) => setTimeout(ok, 100));
    assert.deepEqual(alive(), [], 'sandbox processes outlived the grader');
  });
});
