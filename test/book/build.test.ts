/**
 * The book builder on the runner's fixture notebooks: a failing notebook stops the build and its
 * page shows the error in the failing cell; unchanged notebooks are reused, edited ones re-run.
 */
import { strict as assert } from 'node:assert';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { buildBook, SITE_MARKER, type BookOptions } from '../../tools/book/build';
import { readNotebook } from '../../tools/notebooks/nbformat';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'notebooks');

describe('book build (fixture notebooks)', function () {
  this.timeout(120_000);
  let dir: string;
  let nbs: Record<'passing' | 'error' | 'display', string>;
  let out: string;
  /** Builds, recording which notebooks the runner started. */
  const build = async (options: Partial<BookOptions> = {}) => {
    const started: string[] = [];
    const result = await buildBook({
      notebooks: [nbs.passing, nbs.error, nbs.display],
      outDir: out,
      fast: true,
      events: { notebookStart: (name) => started.push(name) },
      ...options,
    });
    return {
      result,
      started,
      statuses: result.chapters.map((c) => `${c.name}:${c.status}${c.cached ? ' cached' : ''}`),
    };
  };
  const page = (name: string) => readFileSync(join(out, `${name}.html`), 'utf8');
  /** The HTML of one cell's element on a page. */
  const cellHtml = (html: string, n: number) => {
    const start = html.indexOf(`id="cell-${n}"`);
    assert.ok(start >= 0, `no cell ${n} on the page`);
    const end = html.indexOf('id="cell-', start + 5);
    return html.slice(html.lastIndexOf('<', start), end < 0 ? undefined : end);
  };

  before(() => {
    // Inside the repository, so that the notebooks' `import ... from 'attention-hands-on'` resolves.
    mkdirSync(join(ROOT, 'build'), { recursive: true });
    dir = mkdtempSync(join(ROOT, 'build', 'test-book-'));
    mkdirSync(join(dir, 'nbs'));
    nbs = {
      passing: join(dir, 'nbs', 'passing.ipynb'),
      error: join(dir, 'nbs', 'runtime-error.ipynb'),
      display: join(dir, 'nbs', 'display.ipynb'),
    };
    copyFileSync(join(FIXTURES, 'passing.ipynb'), nbs.passing);
    copyFileSync(join(FIXTURES, 'runtime-error.ipynb'), nbs.error);
    copyFileSync(join(FIXTURES, 'display.ipynb'), nbs.display);
    out = join(dir, 'book');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stops at a failing notebook and shows its error in the cell that failed', async () => {
    const { statuses, started } = await build();
    assert.deepEqual(statuses, ['passing:passed', 'runtime-error:failed', 'display:not-run']);
    assert.deepEqual(started, ['passing', 'runtime-error']);

    const failed = page('runtime-error');
    assert.match(failed, /This notebook failed at <a href="#cell-2">cell 2<\/a>: runtime error/);
    const cell2 = cellHtml(failed, 2);
    assert.match(cell2, /class="cell code failed"/);
    assert.match(
      cell2,
      /<div class="cell-failure" role="alert"><p><strong>This cell failed: runtime error<\/strong>/,
    );
    assert.match(cell2, /RangeError: the fixture failed on purpose/);
    assert.match(cellHtml(failed, 3), /class="cell code not-run"/);
    assert.doesNotMatch(cellHtml(failed, 1), /cell-failure/);

    assert.match(page('display'), /Not executed in this build.*stopped when runtime-error failed/s);
    const home = page('index');
    assert.match(home, /failed at cell 2/);
    assert.match(home, /1 notebook\(s\) failed in this build/);
    assert.ok(existsSync(join(out, SITE_MARKER)));
    assert.ok(existsSync(join(out, 'assets', 'plotly.min.js')));
    assert.ok(existsSync(join(out, 'assets', 'katex', 'fonts', 'KaTeX_Main-Regular.woff2')));
  });

  it('with keepGoing runs the rest, reusing the unchanged passing notebook', async () => {
    const { statuses, started } = await build({ keepGoing: true });
    assert.deepEqual(statuses, ['passing:passed cached', 'runtime-error:failed', 'display:passed']);
    assert.deepEqual(
      started,
      ['runtime-error', 'display'],
      'the passing notebook was not run again',
    );
    const display = page('display');
    assert.equal((display.match(/<div class="plotly-figure"/g) ?? []).length, 4);
    assert.match(display, /<script src="assets\/plotly\.min\.js"><\/script>/);
    assert.doesNotMatch(
      page('passing'),
      /plotly\.min\.js/,
      'pages without figures do not load plotly',
    );
    assert.match(page('passing'), /in [\d.]+ s <span class="muted">\(cached\)<\/span>/);
  });

  it('runs an edited notebook again, and every notebook with force', async () => {
    const nb = JSON.parse(readFileSync(nbs.passing, 'utf8'));
    nb.cells.push({ cell_type: 'markdown', id: 'added', metadata: {}, source: ['## Added later'] });
    writeFileSync(nbs.passing, JSON.stringify(nb));
    const edited = await build({ notebooks: [nbs.passing, nbs.display], keepGoing: true });
    assert.deepEqual(edited.started, ['passing']);
    assert.deepEqual(edited.statuses, ['passing:passed', 'display:passed cached']);
    assert.match(page('passing'), /<h2 id="added-later">Added later/);

    const forced = await build({ notebooks: [nbs.passing], force: true });
    assert.deepEqual(forced.started, ['passing']);
    const executed = readNotebook(join(out, 'notebooks', 'passing.ipynb'));
    assert.equal((executed.metadata.attention_runner as { fast: boolean }).fast, true);
  });

  it('removes the pages of notebooks that left the course', async () => {
    await build({ notebooks: [nbs.passing] });
    assert.ok(existsSync(join(out, 'passing.html')));
    assert.ok(!existsSync(join(out, 'display.html')));
    assert.ok(!existsSync(join(out, 'notebooks', 'display.ipynb')));
    assert.ok(!page('index').includes('display.html'));
  });

  it('refuses to build into a folder that holds something else, and touches nothing there', async () => {
    const foreign = join(dir, 'documents');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'thesis.txt'), 'precious');
    await assert.rejects(
      buildBook({ notebooks: [nbs.passing], outDir: foreign }),
      /refusing to build the book into .*documents: expected an empty folder or an earlier book, got a folder with 1 other entries \(thesis\.txt\)/,
    );
    assert.equal(readFileSync(join(foreign, 'thesis.txt'), 'utf8'), 'precious');
  });
});
