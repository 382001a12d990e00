/**
 * Every notebook in notebooks/ executes in the runner (fast mode, in the shared test book), so CI catches a broken chapter
 * the day it breaks, and is committed clean: no outputs, the tslab kernel, a valid nbformat 4.5.
 * Its prose states only numbers that the run printed (tools/notebooks/prose.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { courseNotebooks } from '../../tools/notebooks/cli';
import type { Notebook } from '../../tools/notebooks/nbformat';
import { notebookSchemaErrors } from '../helpers/nbschema';
import { unbackedProseNumbers } from '../../tools/notebooks/prose';
import { fastCourseBook } from '../helpers/course-book';

const notebooks = courseNotebooks();

describe('course notebooks', function () {
  // the first test waits for the whole fast-mode book (every notebook, about a minute each)
  this.timeout(45 * 60_000);

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

      it('executes without errors in fast mode, and its prose quotes only numbers it printed', async () => {
        const book = await fastCourseBook(); // every notebook runs once, shared with the browser test
        const outcome = book.chapters.find((c) => c.name === basename(path, '.ipynb'));
        assert.ok(outcome, `${name} is missing from the fast-mode book`);
        const r = outcome.result;
        assert.ok(r, `${name} was not run (${outcome.status})`);
        assert.equal(
          r.status,
          'passed',
          r.failure &&
            `cell ${r.failure.cell}: ${r.failure.kind}\n${r.failure.preview}\n${r.failure.message}`,
        );
        const source: Notebook = JSON.parse(readFileSync(path, 'utf8'));
        const executed: Notebook = JSON.parse(readFileSync(r.outPath!, 'utf8'));
        const unbacked = unbackedProseNumbers(source, executed).map(
          (n) => `cell ${n.cell}: "${n.text}" in "${n.line}"`,
        );
        assert.deepEqual(
          unbacked,
          [],
          'markdown states numbers no output printed: print them, render the sentence with ' +
            'ah.writeUp, or declare a setting in metadata.attention.settings',
        );
      });
    });
  }
});
