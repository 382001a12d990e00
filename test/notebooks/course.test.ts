/**
 * Every notebook in notebooks/ executes in the runner (fast mode), so CI catches a broken chapter
 * the day it breaks, and is committed clean: no outputs, the tslab kernel, a valid nbformat 4.5.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { courseNotebooks } from '../../tools/notebooks/cli';
import { runNotebook } from '../../tools/notebooks/runner';
import type { Notebook } from '../../tools/notebooks/nbformat';
import { notebookSchemaErrors } from '../helpers/nbschema';

const notebooks = courseNotebooks();

describe('course notebooks', function () {
  this.timeout(5 * 60_000);
  const outDir = mkdtempSync(join(tmpdir(), 'course-notebooks-'));

  for (const path of notebooks) {
    const name = basename(path);
    describe(name, () => {
      it('is named NN-slug.ipynb, committed without outputs, for the tslab kernel, schema-valid', () => {
        assert.match(name, /^\d\d-[a-z0-9]+(-[a-z0-9]+)*\.ipynb$/);
        const nb: Notebook = JSON.parse(readFileSync(path, 'utf8'));
        assert.deepEqual(notebookSchemaErrors(nb), []);
        assert.equal((nb.metadata.kernelspec as { name?: string } | undefined)?.name, 'tslab');
        nb.cells.forEach((cell, i) => {
          if (cell.cell_type !== 'code') return;
          assert.deepEqual(cell.outputs, [], `cell ${i + 1} has committed outputs`);
          assert.equal(cell.execution_count, null, `cell ${i + 1} has an execution count`);
        });
      });

      it('executes without errors in fast mode', async () => {
        const r = await runNotebook(path, { outDir, fast: true });
        assert.equal(
          r.status,
          'passed',
          r.failure &&
            `cell ${r.failure.cell}: ${r.failure.kind}\n${r.failure.preview}\n${r.failure.message}`,
        );
      });
    });
  }
});
