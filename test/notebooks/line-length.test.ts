/**
 * Code lines of course notebooks fit the editor: at most 100 characters (STYLE.md's limit for
 * code), so nothing scrolls sideways in Jupyter, JupyterLab or VS Code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { courseNotebooks } from '../../tools/notebooks/cli';
import type { Notebook } from '../../tools/notebooks/nbformat';

const MAX = 100;

/** `cell id: line n (length)` for every code line longer than `max`. */
export function longCodeLines(nb: Notebook, max = MAX): { id: string; where: string }[] {
  const found: { id: string; where: string }[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== 'code') return;
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    source.split('\n').forEach((line, j) => {
      if (line.length > max) {
        const id = String(cell.id ?? `#${i + 1}`);
        found.push({ id, where: `cell ${i + 1} (${id}) line ${j + 1}: ${line.length} chars` });
      }
    });
  });
  return found;
}

describe('course notebooks: code lines', () => {
  it('longCodeLines finds a 101-character line and accepts a 100-character one', () => {
    const cell = (source: string) => ({
      cell_type: 'code',
      id: 'c',
      metadata: {},
      outputs: [],
      execution_count: null,
      source,
    });
    const nb = { cells: [cell(`${'x'.repeat(100)}\n${'y'.repeat(101)}`)] } as unknown as Notebook;
    assert.deepEqual(longCodeLines(nb), [{ id: 'c', where: 'cell 1 (c) line 2: 101 chars' }]);
  });

  for (const path of courseNotebooks()) {
    const name = basename(path);
    it(`${name}: every code line is at most ${MAX} characters`, () => {
      const nb: Notebook = JSON.parse(readFileSync(path, 'utf8'));
      assert.deepEqual(
        longCodeLines(nb).map((l) => l.where),
        [],
        `code lines over ${MAX} characters`,
      );
    });
  }
});
