/**
 * `npm start` as a user runs it: builds, prints the times and the address, serves until Ctrl-C;
 * exits 1 without serving when a notebook fails, 2 on bad usage.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from '../../tools/book/cli';
import { eventually } from '../helpers/processes';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'notebooks');
const CLI = join(ROOT, 'tools', 'book', 'cli.ts');

describe('npm start (the book CLI)', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    mkdirSync(join(ROOT, 'build'), { recursive: true });
    dir = mkdtempSync(join(ROOT, 'build', 'test-book-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 90_000,
    });

  it('exits 1 without serving when a notebook fails, and names the failure and its page', () => {
    const out = join(dir, 'failing');
    const r = run(join(FIXTURES, 'runtime-error.ipynb'), '--fast', '--out', out);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAILED .*runtime-error\.ipynb, cell 2: runtime error/);
    assert.match(r.stdout, /page: .*runtime-error\.html/);
    assert.match(r.stdout, /runtime-error\s+FAILED/);
    assert.match(r.stdout, /not serving it/);
    assert.doesNotMatch(r.stdout, /The course book is at/);
    // The course's own notebooks were not selected, so they are listed as not run.
    assert.match(r.stdout, /01-attention-pooling\s+not run/);
    assert.match(r.stdout, /Book built in \d+\.\d s/);
    assert.ok(existsSync(join(out, 'runtime-error.html')));
  });

  it('builds, prints the times and the address, serves the book, and stops with exit 0 on Ctrl-C', async () => {
    const out = join(dir, 'serving');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        join(FIXTURES, 'passing.ipynb'),
        '--fast',
        '--out',
        out,
        '--port',
        '0',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.resume();
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    try {
      assert.ok(await eventually(() => /The course book is at/.test(stdout), 60_000), stdout);
      assert.match(stdout, /passing\s+passed\s+\d+\.\d s/);
      const url = /The course book is at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)![1];
      const home = await fetch(url);
      assert.equal(home.status, 200);
      assert.match(await home.text(), /<h1>Attention, Hands-On<\/h1>/);
      assert.equal((await fetch(`${url}passing.html`)).status, 200);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0);
    assert.match(stdout, /SIGINT: stopped serving the book/);
  });

  it('--build-only exits 0 after building', () => {
    const r = run(
      join(FIXTURES, 'passing.ipynb'),
      '--fast',
      '--build-only',
      '--out',
      join(dir, 'only'),
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /The course book is at/);
    assert.ok(existsSync(join(dir, 'only', 'index.html')));
  });

  const usage: [string[], RegExp][] = [
    [['--port', 'abc'], /--port: expected a whole number from 0 to 65535, got "abc"/],
    [['--port'], /--port: expected a whole number from 0 to 65535, got nothing/],
    [['--bogus'], /unknown option --bogus/],
    [['no-such-chapter'], /no notebook matches "no-such-chapter"/],
  ];
  for (const [args, message] of usage) {
    it(`exits 2 on ${args.join(' ')}`, () => {
      const r = run(...args);
      assert.equal(r.status, 2);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /usage: npm start/);
    });
  }

  it('parses its own flags and the runner’s', () => {
    const o = parseArgs(
      [
        '01',
        '--build-only',
        '--force',
        '--keep-going',
        '--port',
        '0',
        '--fast',
        '--cell-timeout',
        '5',
      ],
      {},
    );
    assert.deepEqual(
      [o.names, o.buildOnly, o.force, o.keepGoing, o.port, o.fast, o.cellTimeoutMs],
      [['01'], true, true, true, 0, true, 5000],
    );
    assert.equal(parseArgs([], {}).outDir, join(ROOT, 'build', 'book'));
    assert.equal(parseArgs(['--out', 'site'], {}).outDir, join(process.cwd(), 'site'));
    assert.equal(parseArgs([], {}).port, 8000);
  });
});
