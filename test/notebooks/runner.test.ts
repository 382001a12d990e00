import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveKernelCount } from '../../tools/notebooks/kernel';
import type { Notebook } from '../../tools/notebooks/nbformat';
import {
  describeError,
  notebookJson,
  runNotebook,
  type FailureKind,
  type NotebookResult,
} from '../../tools/notebooks/runner';
import { notebookSchemaErrors } from '../helpers/nbschema';
import { kernelLaunchers } from '../helpers/processes';

const FIXTURES = join(__dirname, '..', 'fixtures', 'notebooks');

interface Case {
  file: string;
  status: 'passed' | 'failed';
  kind?: FailureKind;
  cell?: number;
  message?: RegExp;
  /** code cells that ran (including the failing one) */
  cellsRun: number;
}

const CASES: Case[] = [
  { file: 'passing', status: 'passed', cellsRun: 3 },
  { file: 'display', status: 'passed', cellsRun: 6 },
  {
    file: 'runtime-error',
    status: 'failed',
    kind: 'runtime error',
    cell: 2,
    message: /RangeError: the fixture failed on purpose/,
    cellsRun: 2,
  },
  {
    file: 'type-error',
    status: 'failed',
    kind: 'type error',
    cell: 2,
    message: /2:7 - Type 'string' is not assignable to type 'number'/,
    cellsRun: 2,
  },
  {
    // tslab includes every package of node_modules/@types unless told otherwise; the kernel is
    // told `types: ['node']` (tools/notebooks/tslab-types.cjs), so mocha's globals do not exist.
    file: 'test-globals',
    status: 'failed',
    kind: 'type error',
    cell: 3,
    message: /Cannot find name 'describe'/,
    cellsRun: 2,
  },
  {
    file: 'error-then-more',
    status: 'failed',
    kind: 'runtime error',
    cell: 3,
    message: /SyntaxError/,
    cellsRun: 2,
  },
  {
    file: 'kernel-dies',
    status: 'failed',
    kind: 'kernel died',
    cell: 2,
    message: /the kernel process ended during this cell \(signal SIGKILL\)/,
    cellsRun: 2,
  },
  {
    file: 'timeout',
    status: 'failed',
    kind: 'cell timeout',
    cell: 2,
    message: /longer than its 2 s limit/,
    cellsRun: 2,
  },
];

describe('notebook runner on fixture notebooks', function () {
  this.timeout(120_000);
  const outDir = mkdtempSync(join(tmpdir(), 'runner-test-'));
  const results = new Map<string, NotebookResult>();
  const sourcesBefore = new Map<string, string>();

  before(async () => {
    for (const c of CASES) {
      const path = join(FIXTURES, `${c.file}.ipynb`);
      sourcesBefore.set(c.file, readFileSync(path, 'utf8'));
      results.set(
        c.file,
        await runNotebook(path, {
          outDir,
          fast: true,
          cellTimeoutMs: c.file === 'timeout' ? 2000 : 60_000,
        }),
      );
      // Only the timeout fixture gets a short limit: a loaded machine may take seconds to import tfjs.
      // Each run must leave no kernel behind before the next starts.
      assert.equal(liveKernelCount(), 0, `a kernel is still tracked after ${c.file}`);
    }
  });

  for (const c of CASES) {
    describe(c.file, () => {
      it(`is reported as ${c.status}${c.kind ? ` with a ${c.kind} in cell ${c.cell}` : ''}`, () => {
        const r = results.get(c.file)!;
        assert.equal(r.status, c.status, JSON.stringify(r.failure));
        assert.equal(r.failure?.kind, c.kind);
        assert.equal(r.failure?.cell, c.cell);
        if (c.message) assert.match(r.failure!.message, c.message);
        assert.equal(r.cellsRun, c.cellsRun);
      });

      it('leaves the source notebook untouched and writes a schema-valid executed copy', () => {
        const path = join(FIXTURES, `${c.file}.ipynb`);
        assert.equal(readFileSync(path, 'utf8'), sourcesBefore.get(c.file));
        const executed = JSON.parse(readFileSync(results.get(c.file)!.outPath!, 'utf8'));
        assert.deepEqual(notebookSchemaErrors(executed), []);
        assert.equal(executed.metadata.attention_runner.status, c.status);
      });

      it('runs no cell after a failure: later cells have no outputs and no execution count', () => {
        const executed: Notebook = JSON.parse(readFileSync(results.get(c.file)!.outPath!, 'utf8'));
        const failedAt = c.cell ?? Infinity;
        executed.cells.forEach((cell, i) => {
          if (cell.cell_type !== 'code') return;
          if (i + 1 > failedAt) {
            assert.deepEqual(cell.outputs, [], `cell ${i + 1} has outputs`);
            assert.equal(cell.execution_count, null, `cell ${i + 1} has an execution count`);
          } else if (i + 1 < failedAt) {
            assert.equal(typeof cell.execution_count, 'number', `cell ${i + 1} did not run`);
          }
        });
      });
    });
  }

  it('passes the fast-mode switch to the kernel and keeps each cell output', () => {
    const executed: Notebook = JSON.parse(readFileSync(results.get('passing')!.outPath!, 'utf8'));
    const text = executed.cells
      .flatMap((c) => (c.cell_type === 'code' ? c.outputs : []))
      .map((o) => (o.output_type === 'stream' ? [o.text].flat().join('') : ''))
      .join('');
    assert.match(text, /0\.25 0\.75/);
    assert.match(text, /fast mode: true/);
  });

  it('saves figures as plotly JSON + script-free HTML + text, small, and only the final progress state', () => {
    const outPath = results.get('display')!.outPath!;
    const executed: Notebook = JSON.parse(readFileSync(outPath, 'utf8'));
    const outputs = executed.cells.map((c) => (c.cell_type === 'code' ? c.outputs : []));
    const figures = outputs
      .slice(2, 6)
      .map((o) => o.filter((x) => x.output_type === 'display_data'));
    for (const [i, shown] of figures.entries()) {
      assert.equal(shown.length, 1, `cell ${i + 3} shows one figure`);
      const data = (shown[0] as { data: Record<string, unknown> }).data;
      assert.deepEqual(Object.keys(data).sort(), [
        'application/vnd.plotly.v1+json',
        'text/html',
        'text/plain',
      ]);
      const html = [data['text/html']].flat().join('');
      assert.match(html, /^<div class="ah-figure"><svg /);
      assert.doesNotMatch(html, /<script|cdn|https?:\/\/(?!www\.w3\.org)/i);
    }
    const progress = outputs[6].filter((x) => x.output_type === 'display_data');
    assert.equal(progress.length, 1, 'one progress display, updated in place');
    const text = [(progress[0] as { data: Record<string, unknown> }).data['text/plain']]
      .flat()
      .join('');
    assert.match(text, /^training: 40 steps in \d+\.\d s · loss 0\.025$/);
    // Four figures, no plotly bundle inlined: tens of KB, not megabytes.
    assert.ok(
      statSync(outPath).size < 150_000,
      `executed notebook is ${statSync(outPath).size} bytes`,
    );
  });

  it('leaves no kernel process running', () => {
    assert.deepEqual(kernelLaunchers(process.pid), []);
  });

  it('reports a notebook that is not JSON without starting a kernel', async () => {
    const r = await runNotebook(join(FIXTURES, 'README-not-a-notebook.ipynb'), { outDir });
    assert.equal(r.status, 'failed');
    assert.equal(r.failure?.kind, 'unreadable notebook');
    assert.match(r.failure!.message, /cannot read notebook/);
  });

  it('refuses to write the executed copy over its source', async () => {
    await assert.rejects(
      runNotebook(join(FIXTURES, 'passing.ipynb'), { outDir: FIXTURES }),
      /refusing to overwrite the source notebook/,
    );
  });
});

describe('describeError', () => {
  it('shows each type error with the line it points at', () => {
    const { kind, message } = describeError(
      'const a = 1;\nconst b: string = a;',
      "2:7 - Type 'number' is not assignable to type 'string'.\n",
    );
    assert.equal(kind, 'type error');
    assert.equal(
      message,
      "2:7 - Type 'number' is not assignable to type 'string'.\n    > const b: string = a;",
    );
  });

  it('keeps the error line and user frames of a runtime error, dropping Node and tslab frames', () => {
    const stderr = [
      'evalmachine.<anonymous>:2',
      "throw new Error('boom');",
      '^',
      '',
      'Error: boom',
      '    at evalmachine.<anonymous>:2:7',
      '    at sigintHandlersWrap (node:vm:280:12)',
      '    at Object.execute (/p/node_modules/tslab/dist/executor.js:160:38)',
    ].join('\n');
    const { kind, message } = describeError("throw new Error('boom');", stderr);
    assert.equal(kind, 'runtime error');
    assert.equal(message, 'Error: boom\n    at evalmachine.<anonymous>:2:7');
  });

  it('still says something when the kernel printed nothing', () => {
    assert.match(describeError('x', '').message, /without a message/);
  });
});

describe('notebookJson', () => {
  it('keeps arrays of numbers on one line and round-trips exactly', () => {
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {
        z: [
          [1, -2.5, 3e-7],
          [4, 5, 6],
        ],
        names: ['a', 'b'],
        empty: [],
      },
      cells: [],
    };
    const text = notebookJson(nb);
    assert.deepEqual(JSON.parse(text), nb);
    assert.match(text, /\[1,-2\.5,3e-7\]/);
    assert.match(text, /"names": \[\n\s+"a",\n\s+"b"\n\s+\]/, 'strings keep one per line');
  });
});
