import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheKey, hashInputs, isFresh } from '../../tools/book/cache';
import type { Notebook } from '../../tools/notebooks/nbformat';

describe('book cache keys', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'book-cache-'));
    mkdirSync(join(root, 'src', 'core'), { recursive: true });
    writeFileSync(join(root, 'src', 'core', 'a.ts'), 'export const a = 1;\n');
    writeFileSync(join(root, 'nb.ipynb'), '{"cells": []}');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const changes: [string, (root: string) => void][] = [
    [
      'an edited file',
      (r) => writeFileSync(join(r, 'src', 'core', 'a.ts'), 'export const a = 2;\n'),
    ],
    ['an added file', (r) => writeFileSync(join(r, 'src', 'b.ts'), '')],
    [
      'a renamed file',
      (r) => renameSync(join(r, 'src', 'core', 'a.ts'), join(r, 'src', 'core', 'z.ts')),
    ],
    ['a deleted file', (r) => rmSync(join(r, 'src', 'core', 'a.ts'))],
    [
      'an edited exercise',
      (r) => (mkdirSync(join(r, 'exercises')), writeFileSync(join(r, 'exercises', 'x.ts'), 'x')),
    ],
    ['a new lock file', (r) => writeFileSync(join(r, 'package-lock.json'), '{}')],
  ];
  for (const [what, change] of changes) {
    it(`changes with ${what} among the shared inputs`, () => {
      const before = hashInputs(root);
      change(root);
      assert.notEqual(hashInputs(root), before);
    });
  }

  const unchanged: [string, (root: string) => void][] = [
    ['a dot-file', (r) => writeFileSync(join(r, 'src', '.DS_Store'), 'x')],
    ['a file outside the inputs', (r) => writeFileSync(join(r, 'notes.md'), 'x')],
    [
      'node_modules inside src',
      (r) => (
        mkdirSync(join(r, 'src', 'node_modules')),
        writeFileSync(join(r, 'src', 'node_modules', 'm.js'), '')
      ),
    ],
  ];
  for (const [what, change] of unchanged) {
    it(`ignores ${what}`, () => {
      const before = hashInputs(root);
      change(root);
      assert.equal(hashInputs(root), before);
    });
  }

  it('keys a notebook by its bytes, the shared hash and the mode', () => {
    const nb = join(root, 'nb.ipynb');
    const key = cacheKey(nb, 'h', false);
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(cacheKey(nb, 'h', false), key);
    assert.notEqual(cacheKey(nb, 'h', true), key, 'fast and full runs print different numbers');
    assert.notEqual(cacheKey(nb, 'h2', false), key);
    writeFileSync(nb, '{"cells": [] }');
    assert.notEqual(cacheKey(nb, 'h', false), key);
  });

  const executed = (runner: unknown): Notebook => ({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: runner === undefined ? {} : { attention_runner: runner },
    cells: [],
  });
  const fresh: [string, Notebook | null, boolean][] = [
    [
      'a passed run with the same key',
      executed({ status: 'passed', seconds: 1, cache_key: 'k' }),
      true,
    ],
    [
      'a passed run with another key',
      executed({ status: 'passed', seconds: 1, cache_key: 'old' }),
      false,
    ],
    [
      'a failed run, even with the same key',
      executed({ status: 'failed', seconds: 1, cache_key: 'k' }),
      false,
    ],
    ['a run by `npm run notebooks` (no key)', executed({ status: 'passed', seconds: 1 }), false],
    ['a notebook the runner never touched', executed(undefined), false],
    ['no executed copy', null, false],
  ];
  for (const [what, nb, expected] of fresh) {
    it(`${expected ? 'reuses' : 'does not reuse'} ${what}`, () =>
      assert.equal(isFresh(nb, 'k'), expected));
  }
});
