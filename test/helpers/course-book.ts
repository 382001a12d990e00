/**
 * The course book built once per `npm test` run, in fast mode, for every test that needs the
 * executed course notebooks: the browser test loads its pages, the course test checks each
 * notebook's run and its prose against what it printed. Executing every notebook once instead of
 * once per test keeps `npm test` inside its time budget as chapters are added.
 *
 * Mocha runs test files in parallel worker processes, so "once" is per run, not per process: the
 * first process to ask creates `build/test-course-book-<run>/` (an atomic mkdir is the lock),
 * builds the book there and writes the result as `result.json`; every other process waits for
 * that file. The run id comes from `test/setup.ts` (the main mocha process's pid, inherited by
 * its workers), and the main process removes the folder when it exits.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBook, type BookResult } from '../../tools/book/build';
import { courseNotebooks } from '../../tools/notebooks/cli';

const ROOT = join(__dirname, '..', '..');

/** The environment variable naming this test run (set by test/setup.ts in the main process). */
export const TEST_RUN_ENV = 'ATTENTION_TEST_RUN';

/** The folder of this run's shared book: `build/test-course-book-<run>`. */
export function courseBookDir(run = process.env[TEST_RUN_ENV] ?? String(process.pid)): string {
  return join(ROOT, 'build', `test-course-book-${run}`);
}

let pending: Promise<BookResult> | null = null;

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Builds the book into `dir` and publishes the result (or the error) for the other processes. */
async function buildShared(dir: string): Promise<BookResult> {
  writeFileSync(join(dir, 'builder.pid'), String(process.pid));
  const publish = (name: string, value: unknown): void => {
    writeFileSync(join(dir, `${name}.tmp`), JSON.stringify(value));
    renameSync(join(dir, `${name}.tmp`), join(dir, name));
  };
  try {
    const result = await buildBook({
      notebooks: courseNotebooks(),
      outDir: join(dir, 'book'),
      fast: true,
      keepGoing: true,
    });
    publish('result.json', result);
    return result;
  } catch (e) {
    publish('error.json', { message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    throw e;
  }
}

/** Waits for the process that builds the book in `dir` to publish its result. */
async function awaitShared(dir: string): Promise<BookResult> {
  const limit = Date.now() + 45 * 60_000;
  for (;;) {
    if (existsSync(join(dir, 'result.json'))) {
      return JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as BookResult;
    }
    if (existsSync(join(dir, 'error.json'))) {
      const { message } = JSON.parse(readFileSync(join(dir, 'error.json'), 'utf8'));
      throw new Error(`the shared fast course book failed to build in another process: ${message}`);
    }
    const pidFile = join(dir, 'builder.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      if (pid > 0 && !alive(pid) && !existsSync(join(dir, 'result.json'))) {
        throw new Error(`the process ${pid} building the shared course book in ${dir} died`);
      }
    }
    if (Date.now() > limit) throw new Error(`timed out waiting for the course book in ${dir}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The fast-mode book of every course notebook, built on the first call of the run (all notebooks
 * run even if one fails, so each test reports its own chapter).
 */
export function fastCourseBook(): Promise<BookResult> {
  if (pending === null) {
    mkdirSync(join(ROOT, 'build'), { recursive: true });
    const dir = courseBookDir();
    let builder = true;
    try {
      mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      builder = false;
    }
    // Without test/setup.ts (no run id), this process owns the folder and removes it.
    if (process.env[TEST_RUN_ENV] === undefined && builder) {
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    pending = builder ? buildShared(dir) : awaitShared(dir);
  }
  return pending;
}
