/**
 * The course book built once per test process, in fast mode, for every test that needs the
 * executed course notebooks: the browser test loads its pages, the course test checks each
 * notebook's run and its prose against what it printed. Executing every notebook once instead of
 * once per test keeps `npm test` inside its time budget as chapters are added.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBook, type BookResult } from '../../tools/book/build';
import { courseNotebooks } from '../../tools/notebooks/cli';

const ROOT = join(__dirname, '..', '..');

let pending: Promise<BookResult> | null = null;

/**
 * The fast-mode book of every course notebook, built on the first call (all notebooks run even if
 * one fails, so each test reports its own chapter) and removed when the process exits.
 */
export function fastCourseBook(): Promise<BookResult> {
  if (pending === null) {
    mkdirSync(join(ROOT, 'build'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, 'build', 'test-course-book-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    pending = buildBook({
      notebooks: courseNotebooks(),
      outDir: join(dir, 'book'),
      fast: true,
      keepGoing: true,
    });
  }
  return pending;
}
