/**
 * When may the book reuse an executed notebook instead of running it again? When nothing its
 * outputs depend on has changed. The key hashes the notebook's bytes, the course library (`src/`),
 * what the self-check cell grades (`exercises/`, `graded/`, `tools/grading/`), the installed
 * dependency versions (`package-lock.json`) and the mode (fast or full). It is stored in the
 * executed copy's metadata, so the copy and its key can never disagree.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Notebook } from '../notebooks/nbformat';

/** Folders and files, relative to the course root, whose content every notebook's outputs depend on. */
export const SHARED_INPUTS = ['src', 'exercises', 'graded', 'tools/grading', 'package-lock.json'];

/** Every file under `path` (or `path` itself), sorted, skipping dot-files and node_modules. */
function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    out.push(...filesUnder(join(path, name)));
  }
  return out;
}

/**
 * One hash of the content of `inputs` (paths relative to `root`): names and bytes of every file,
 * so a renamed, added or deleted file changes it as well as an edited one.
 */
export function hashInputs(root: string, inputs: readonly string[] = SHARED_INPUTS): string {
  const hash = createHash('sha256');
  for (const input of inputs) {
    for (const file of filesUnder(join(root, input))) {
      hash.update(relative(root, file).split('\\').join('/'));
      hash.update('\0');
      hash.update(readFileSync(file));
      hash.update('\0');
    }
  }
  return hash.digest('hex');
}

/** The cache key of one notebook: its bytes, the shared inputs' hash and the mode. */
export function cacheKey(notebookPath: string, sharedHash: string, fast: boolean): string {
  return createHash('sha256')
    .update(readFileSync(notebookPath))
    .update(`\0${sharedHash}\0${fast ? 'fast' : 'full'}`)
    .digest('hex');
}

/** What the runner stored in an executed copy's metadata. */
export interface RunRecord {
  status: 'passed' | 'failed';
  fast: boolean;
  cells_run: number;
  seconds: number;
  cache_key?: string;
  failure?: { kind: string; cell: number; preview: string; message: string };
}

/** The runner's record in an executed notebook, or `null` if it has none. */
export function runRecord(nb: Notebook): RunRecord | null {
  const record = nb.metadata.attention_runner;
  if (!record || typeof record !== 'object') return null;
  const r = record as Partial<RunRecord>;
  if ((r.status !== 'passed' && r.status !== 'failed') || typeof r.seconds !== 'number')
    return null;
  return record as RunRecord;
}

/** An executed copy can stand in for a run if it passed and was made from the same inputs. */
export function isFresh(nb: Notebook | null, key: string): boolean {
  const record = nb ? runRecord(nb) : null;
  return record !== null && record.status === 'passed' && record.cache_key === key;
}
