/** Fixtures of the grader's tests: hostile submissions assembled into temporary folders, tree hashes. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const SUBMISSIONS = path.join(ROOT, 'test', 'fixtures', 'grading', 'submissions');
export const HIDDEN = path.join(ROOT, 'test', 'fixtures', 'grading', 'hidden');

/** Small limits so that hostile cases fail fast; the slow-but-correct case uses the defaults. */
export const TEST_LIMITS = { callMs: 2000, loadMs: 2000, heapMb: 128, rssMb: 400 };

/**
 * A submission of chapter 00 in a new temporary folder (`<dir>/00-minds-and-machines/*.ts`): the
 * fixture's correct answers with the case's files laid over them.
 */
export function assembleCase(name: string, into?: string): string {
  const dir = into ?? fs.mkdtempSync(path.join(os.tmpdir(), `grading-${name}-`));
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(SUBMISSIONS, 'correct'), dir, { recursive: true });
  if (name !== 'correct') fs.cpSync(path.join(SUBMISSIONS, name), dir, { recursive: true });
  return dir;
}

/** A hash of every file under `dir` (paths and contents), to prove nothing was written there. */
export function treeHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string): void => {
    for (const e of fs
      .readdirSync(d, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, e.name);
      hash.update(`${path.relative(dir, full)}\0`);
      if (e.isDirectory()) walk(full);
      else hash.update(fs.readFileSync(full));
    }
  };
  walk(dir);
  return hash.digest('hex');
}
