/**
 * The id of one `npm test` run, shared by every mocha process of the run (test/run.ts starts two,
 * the first with parallel workers), and the folder of the run's shared course book. Kept apart
 * from course-book.ts so that the runner names the run without loading the book builder.
 */
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The environment variable naming this test run (set by test/run.ts or test/setup.ts). */
export const TEST_RUN_ENV = 'ATTENTION_TEST_RUN';

/** The folder of this run's shared book: `build/test-course-book-<run>`. */
export function courseBookDir(run = process.env[TEST_RUN_ENV] ?? String(process.pid)): string {
  return join(ROOT, 'build', `test-course-book-${run}`);
}
