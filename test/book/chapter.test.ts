import { strict as assert } from 'node:assert';
import { basename } from 'node:path';
import { parseBackendSummary } from '../../src/backend/backend';
import { chapterInfo } from '../../tools/book/chapter';
import { createMarkdown } from '../../tools/book/markdown';
import { courseNotebooks } from '../../tools/notebooks/cli';
import { readNotebook, type Notebook } from '../../tools/notebooks/nbformat';

const md = createMarkdown();

function notebook(markdown: string[], stdout = ''): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      ...markdown.map((source) => ({ cell_type: 'markdown' as const, source, metadata: {} })),
      {
        cell_type: 'code',
        source: 'x',
        metadata: {},
        execution_count: 1,
        outputs: stdout ? [{ output_type: 'stream', name: 'stdout', text: stdout }] : [],
      },
    ],
  };
}

describe('book chapter info', () => {
  it('reads title, intro, objectives, time and backend from the notebook', () => {
    const nb = notebook(
      [
        '# 07 · Vision\n\nImages become **tokens**.\n\n**Objectives.** You can\n\n- cut patches;\n- embed $x$.\n\n**Prerequisites.** 06.\n\n**Estimated time.** 30 minutes.',
        '## Later\n\nNot the intro.\n\n- not an objective',
      ],
      'loading\nbackend: cpu (plain JavaScript, 1 thread)\n',
    );
    const info = chapterInfo(md, '07-vit', nb);
    assert.equal(info.number, '07');
    assert.equal(info.title, '07 · Vision');
    assert.equal(info.intro, 'Images become <strong>tokens</strong>.');
    assert.equal(info.objectives.length, 2);
    assert.equal(info.objectives[0], 'cut patches;');
    assert.match(info.objectives[1], /^embed <span class="katex">/);
    assert.equal(info.estimatedTime, '30 minutes.');
    assert.equal(info.backend, 'cpu');
    assert.equal(info.backendSummary, 'backend: cpu (plain JavaScript, 1 thread)');
  });

  it('leaves what a notebook lacks empty rather than guessing', () => {
    const info = chapterInfo(md, 'scratch', notebook(['Some notes.']));
    assert.deepEqual(
      [info.number, info.title, info.objectives, info.estimatedTime, info.backend],
      ['', 'scratch', [], '', ''],
    );
  });

  // The home page promises objectives and a time for every chapter: hold the notebooks to it.
  for (const path of courseNotebooks()) {
    it(`${basename(path)} states its title, objectives and estimated time`, () => {
      const info = chapterInfo(md, basename(path, '.ipynb'), readNotebook(path));
      assert.match(info.title, new RegExp(`^${info.number} · \\S`));
      assert.ok(
        info.objectives.length >= 3,
        `expected 3 or more objectives, got ${info.objectives.length}`,
      );
      assert.match(info.estimatedTime, /\d+.*minutes/);
    });
  }
});

describe('parseBackendSummary', () => {
  const cases: [string, ReturnType<typeof parseBackendSummary>][] = [
    [
      'backend: wasm (SIMD on, 1 thread; native TensorFlow not installed) + fixes: matMul',
      { name: 'wasm', details: 'SIMD on, 1 thread; native TensorFlow not installed' },
    ],
    [
      '  backend: native (TensorFlow C library, 2 threads)',
      { name: 'native', details: 'TensorFlow C library, 2 threads' },
    ],
    ['backend: cpu', { name: 'cpu', details: '' }],
    ['backend: webgl (GPU)', null],
    ['the backend: wasm', null],
    ['', null],
  ];
  for (const [line, expected] of cases) {
    it(`reads ${JSON.stringify(line)}`, () =>
      assert.deepEqual(parseBackendSummary(line), expected));
  }
  it('rejects a non-string', () =>
    assert.throws(
      () => parseBackendSummary(3 as unknown as string),
      /expected a string, got number/,
    ));
});
