import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, resolveNames } from '../../tools/notebooks/cli';
import { eventually, kernelLaunchers } from '../helpers/processes';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'notebooks');
const CLI = join(ROOT, 'tools', 'notebooks', 'cli.ts');
// node --import tsx (not the tsx binary) so the runner is this child itself and its pid is known.
const runArgs = (...args: string[]) => ['--import', 'tsx', CLI, ...args];

function runCli(...args: string[]) {
  const out = mkdtempSync(join(tmpdir(), 'cli-test-'));
  const run = spawnSync(process.execPath, runArgs('--out', out, ...args), {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Starts the CLI and resolves once its kernel is busy in `cell`. */
async function startUntilCell(
  cell: number,
  ...args: string[]
): Promise<{ child: ChildProcess; stderr: () => string }> {
  const out = mkdtempSync(join(tmpdir(), 'cli-signal-'));
  const child = spawn(process.execPath, runArgs('--out', out, ...args), {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  // Non-TTY progress prints a line when a cell ends; the cell before `cell` ending means `cell` started.
  const started = await eventually(() => stderr.includes(`cell ${cell - 1}  ok`), 30_000);
  assert.ok(started, `the runner never reached cell ${cell}:\n${stderr}`);
  return { child, stderr: () => stderr };
}

const exitOf = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.once('exit', (code, signal) => ok({ code, signal })),
  );

describe('npm run notebooks (CLI)', function () {
  this.timeout(120_000);

  it('exits 0 and prints the table for a passing notebook', () => {
    const { code, stdout, stderr } = runCli(join(FIXTURES, 'passing.ipynb'));
    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /passing\.ipynb\s+passed\s+3\/3/);
    assert.match(stdout, /1 notebook\(s\) passed, 0 failed/);
    assert.match(stderr, /▸ passing \(3 code cells\)/);
  });

  it('exits 1 naming the failing cell, its first lines and the error, and never counts later cells', () => {
    const { code, stdout } = runCli(
      join(FIXTURES, 'passing.ipynb'),
      join(FIXTURES, 'error-then-more.ipynb'),
    );
    assert.equal(code, 1, stdout);
    assert.match(
      stdout,
      /FAILED test\/fixtures\/notebooks\/error-then-more\.ipynb, cell 3: runtime error/,
    );
    assert.match(stdout, /> JSON\.parse\('\{ this is not json'\);/);
    assert.match(stdout, /SyntaxError/);
    assert.match(stdout, /error-then-more\.ipynb\s+FAILED\s+2\/4/);
    assert.match(stdout, /1 notebook\(s\) passed, 1 failed/);
  });

  it('exits 2 with the list of notebooks for an unknown name', () => {
    const { code, stderr } = runCli('no-such-chapter');
    assert.equal(code, 2);
    assert.match(stderr, /no notebook matches "no-such-chapter"/);
  });

  it('stops the kernel and exits 130 on Ctrl-C (SIGINT)', async () => {
    const { child } = await startUntilCell(
      2,
      '--cell-timeout',
      '60',
      join(FIXTURES, 'timeout.ipynb'),
    );
    assert.equal(kernelLaunchers(child.pid).length, 1, 'expected one running kernel');
    const exit = exitOf(child);
    child.kill('SIGINT');
    assert.deepEqual(await exit, { code: 130, signal: null });
    assert.ok(
      await eventually(() => kernelLaunchers(child.pid).length === 0),
      'a kernel survived Ctrl-C',
    );
  });

  it('leaves no kernel behind even when the runner itself is killed with SIGKILL', async () => {
    const { child } = await startUntilCell(
      2,
      '--cell-timeout',
      '60',
      join(FIXTURES, 'timeout.ipynb'),
    );
    const kernels = kernelLaunchers(child.pid);
    assert.equal(kernels.length, 1, 'expected one running kernel');
    child.kill('SIGKILL');
    await exitOf(child);
    // The launcher's watchdog thread notices the runner is gone (it polls every 0.5 s), even though
    // the kernel's main thread is stuck in the fixture's busy loop.
    assert.ok(
      await eventually(() => kernels.every((pid) => !alive(pid)), 10_000),
      `kernel(s) ${kernels} survived`,
    );
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('notebooks CLI arguments', () => {
  it('reads flags and names', () => {
    const o = parseArgs(
      ['01', '--fast', '--cell-timeout', '2.5', '--notebook-timeout', '60', '--out', '/tmp/x'],
      {},
    );
    assert.deepEqual(o.names, ['01']);
    assert.equal(o.fast, true);
    assert.equal(o.cellTimeoutMs, 2500);
    assert.equal(o.notebookTimeoutMs, 60_000);
    assert.equal(o.outDir, '/tmp/x');
  });

  it('turns fast mode on from ATTENTION_FAST', () => {
    assert.equal(parseArgs([], { ATTENTION_FAST: '1' }).fast, true);
    assert.equal(parseArgs([], {}).fast, false);
  });

  const bad: [string[], RegExp][] = [
    [
      ['--cell-timeout', 'soon'],
      /--cell-timeout: expected a positive number of seconds, got "soon"/,
    ],
    [['--cell-timeout', '-1'], /expected a positive number of seconds, got "-1"/],
    [['--out'], /--out needs a value/],
    [['--verbose'], /unknown option --verbose/],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${argv.join(' ')}`, () => assert.throws(() => parseArgs(argv, {}), message));
  }

  it('resolves a unique prefix and rejects an ambiguous one', () => {
    assert.deepEqual(resolveNames(['type'], FIXTURES), [join(FIXTURES, 'type-error.ipynb')]);
    assert.throws(() => resolveNames(['t'], FIXTURES), /"t" matches 3 notebooks/);
  });
});
