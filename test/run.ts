/**
 * `npm test`: every test file, in two mocha runs, and one closing line `N passed, N failed` for
 * both (CI reads the last such line).
 *
 * 1. Every file outside test/grading/ runs with mocha's parallel workers, one per core (at most
 *    4): the notebook, book and browser tests wait on kernels and Chromium, and two workers keep
 *    both cores busy (README, "Tests", has the times measured here).
 * 2. Then test/grading/ runs alone, one file after another. Those tests check the grader's time
 *    and memory limits (a call stopped after 2 s, a submission after its total budget, a heap
 *    that must run out of memory before it runs out of time): with a notebook kernel on the other
 *    core they measured the machine, not the grader.
 *
 * `npm test -- <mocha arguments>` (for example one file) runs one plain mocha with them.
 * `ATTENTION_TEST_JOBS=1 npm test` runs everything in one mocha process, one file at a time.
 */
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { courseBookDir, TEST_RUN_ENV } from './helpers/test-run';

const ROOT = join(__dirname, '..');
const MOCHA = join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
/** Test files that measure time or memory limits: they run after the rest, alone. */
const SERIAL_DIR = 'test/grading/';
/** The environment variable that sets the number of parallel workers (1: no parallel part). */
const JOBS_ENV = 'ATTENTION_TEST_JOBS';
const MAX_JOBS = 4;

/** What one mocha run reported: its closing line's counts, or its exit when it printed none. */
interface Outcome {
  passed: number;
  failed: number;
  skipped: number;
  code: number;
  summary: boolean;
}

/** Every `*.test.ts` under test/, as paths relative to the repository, sorted. */
function testFiles(dir = join(ROOT, 'test')): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'fixtures') found.push(...testFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) {
      found.push(relative(ROOT, full).split('\\').join('/'));
    }
  }
  return found.sort();
}

/** The number of parallel workers: `$ATTENTION_TEST_JOBS`, else one per core, at most 4. */
function jobs(): number {
  const raw = process.env[JOBS_ENV];
  if (raw === undefined || raw.trim() === '') return Math.min(availableParallelism(), MAX_JOBS);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 16) {
    throw new Error(`${JOBS_ENV}: expected a whole number from 1 to 16, got "${raw}"`);
  }
  return n;
}

/** Runs mocha with `args`, passing its output through, and reads its closing line. */
function mocha(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [MOCHA, ...(process.stdout.isTTY ? ['--color'] : []), ...args],
      {
        cwd: ROOT,
        stdio: ['inherit', 'pipe', 'inherit'],
      },
    );
    let tail = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4096);
    });
    child.on('close', (code, signal) => {
      // eslint-disable-next-line no-control-regex
      const plain = tail.replace(/\u001b\[[0-9;]*m/g, '');
      const lines = [...plain.matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/gm)];
      const last = lines[lines.length - 1];
      resolve({
        passed: last ? Number(last[1]) : 0,
        failed: last ? Number(last[2]) : 0,
        skipped: last && last[3] ? Number(last[3]) : 0,
        code: code ?? (signal === 'SIGINT' ? 130 : 1),
        summary: last !== undefined,
      });
    });
  });
}

async function main(): Promise<number> {
  const passThrough = process.argv.slice(2);
  if (passThrough.length > 0) return (await mocha(passThrough)).code;

  // One run id for both mocha runs, so the fast course book is built once; removed at the end.
  if (process.env[TEST_RUN_ENV] === undefined) process.env[TEST_RUN_ENV] = String(process.pid);
  const book = courseBookDir();
  process.once('exit', () => rmSync(book, { recursive: true, force: true }));
  // Ctrl-C reaches mocha too (same process group): wait for it to stop, then stop.
  process.on('SIGINT', () => {});

  const files = testFiles();
  const workers = jobs();
  const serial = workers > 1 ? files.filter((f) => f.startsWith(SERIAL_DIR)) : files;
  const parallel = files.filter((f) => !serial.includes(f));
  const parts: [string, string[]][] = [];
  if (parallel.length > 0) {
    parts.push([
      `${parallel.length} files, ${workers} parallel workers`,
      ['--parallel', '--jobs', String(workers), ...parallel],
    ]);
  }
  if (serial.length > 0) parts.push([`${serial.length} files, one at a time`, serial]);

  const total = { passed: 0, failed: 0, skipped: 0 };
  let code = 0;
  for (const [i, [what, args]] of parts.entries()) {
    console.log(`\n== npm test, part ${i + 1} of ${parts.length}: ${what}`);
    const outcome = await mocha(args);
    total.passed += outcome.passed;
    total.failed += outcome.failed;
    total.skipped += outcome.skipped;
    if (!outcome.summary) {
      // mocha stopped before its closing line (a crash or Ctrl-C): that is a failure of the run.
      total.failed += 1;
      console.log(`\nmocha (part ${i + 1}) exited with code ${outcome.code} before its summary`);
    }
    if (outcome.code !== 0) code = outcome.code;
    if (outcome.code === 130) break;
  }
  const skipped = total.skipped ? `, ${total.skipped} skipped` : '';
  console.log(`\nnpm test, all parts:\n${total.passed} passed, ${total.failed} failed${skipped}`);
  return code !== 0 || total.failed > 0 ? code || 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
