import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  OutputCollector,
  readNotebook,
  splitLines,
  type Output,
} from '../../tools/notebooks/nbformat';

describe('nbformat outputs from iopub messages', () => {
  it('merges consecutive writes to the same stream, but not across streams', () => {
    const c = new OutputCollector();
    const outs: Output[] = [];
    c.apply(outs, 'stream', { name: 'stdout', text: 'a' });
    c.apply(outs, 'stream', { name: 'stdout', text: 'b\n' });
    c.apply(outs, 'stream', { name: 'stderr', text: 'warn\n' });
    c.apply(outs, 'stream', { name: 'stdout', text: 'c\n' });
    assert.deepEqual(
      outs.map((o) => (o.output_type === 'stream' ? [o.name, o.text] : null)),
      [
        ['stdout', 'ab\n'],
        ['stderr', 'warn\n'],
        ['stdout', 'c\n'],
      ],
    );
  });

  it('replaces a display by id, also when the update comes from a later cell', () => {
    const c = new OutputCollector();
    const first: Output[] = [];
    const later: Output[] = [];
    const show = (text: string) => ({
      data: { 'text/plain': text },
      metadata: {},
      transient: { display_id: 'p1' },
    });
    c.apply(first, 'display_data', show('step 1'));
    c.apply(later, 'update_display_data', show('done'));
    assert.equal(later.length, 0);
    assert.deepEqual(first, [
      { output_type: 'display_data', data: { 'text/plain': 'done' }, metadata: {} },
    ]);
  });

  it('clears at once, or at the next output when asked to wait', () => {
    const c = new OutputCollector();
    const outs: Output[] = [];
    c.apply(outs, 'stream', { name: 'stdout', text: 'old\n' });
    c.apply(outs, 'clear_output', { wait: true });
    assert.equal(outs.length, 1);
    c.apply(outs, 'stream', { name: 'stdout', text: 'new\n' });
    assert.deepEqual(outs, [{ output_type: 'stream', name: 'stdout', text: 'new\n' }]);
    c.apply(outs, 'clear_output', { wait: false });
    assert.equal(outs.length, 0);
  });

  it('keeps errors and results with their fields', () => {
    const c = new OutputCollector();
    const outs: Output[] = [];
    c.apply(outs, 'error', {
      ename: 'TypeError',
      evalue: 'x is not a function',
      traceback: ['line 1'],
    });
    c.apply(outs, 'execute_result', {
      execution_count: 3,
      data: { 'text/plain': '2' },
      metadata: {},
    });
    c.apply(outs, 'status', { execution_state: 'idle' });
    assert.deepEqual(outs, [
      {
        output_type: 'error',
        ename: 'TypeError',
        evalue: 'x is not a function',
        traceback: ['line 1'],
      },
      {
        output_type: 'execute_result',
        execution_count: 3,
        data: { 'text/plain': '2' },
        metadata: {},
      },
    ]);
  });

  it('splits text into nbformat lines that keep their newlines', () => {
    assert.deepEqual(splitLines('a\nb\n'), ['a\n', 'b\n']);
    assert.deepEqual(splitLines('a\nb'), ['a\n', 'b']);
    assert.deepEqual(splitLines(''), []);
  });
});

describe('readNotebook', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nb-read-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  const cases: [string, string, RegExp][] = [
    ['not JSON', '{ cells: [', /is not valid JSON/],
    ['no cells', '{"nbformat": 4}', /expected a notebook with a "cells" array/],
    ['nbformat 3', '{"nbformat": 3, "cells": []}', /expected nbformat 4, got 3/],
    [
      'bad cell type',
      '{"nbformat": 4, "cells": [{"cell_type": "python", "source": ""}]}',
      /cell 1 has cell_type "python"/,
    ],
  ];
  for (const [label, text, message] of cases) {
    it(`names the file and the problem: ${label}`, () => {
      const path = file(`${label.replace(/\W/g, '-')}.ipynb`, text);
      assert.throws(
        () => readNotebook(path),
        (err: Error) => message.test(err.message) && err.message.includes(path),
      );
    });
  }

  it('says when the file does not exist', () => {
    assert.throws(
      () => readNotebook(join(dir, 'missing.ipynb')),
      /cannot read notebook .*missing\.ipynb/,
    );
  });
});
