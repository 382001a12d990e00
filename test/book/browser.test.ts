/**
 * The built course book in a real browser: Debian's headless Chromium, driven by playwright-core,
 * loads every page of a book built in fast mode and must see no console error, no request leaving
 * the machine, every plotly figure drawn with data, and rendered math. A sabotaged copy of the
 * book shows that each of these checks fails when it should. CI installs Chromium (.ci/run);
 * elsewhere, without it, these tests are not registered and the reason is printed.
 */
import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBook, type BookResult } from '../../tools/book/build';
import { serveBook, type RunningServer } from '../../tools/book/serve';
import { courseNotebooks } from '../../tools/notebooks/cli';
import {
  hasChromium,
  openInspector,
  problems,
  type Inspector,
  type PageReport,
} from '../helpers/browser';

const ROOT = join(__dirname, '..', '..');
/** Where the test leaves its screenshot, for the test log and for people. */
const ARTIFACTS = join(ROOT, 'build', 'test-artifacts');

if (!hasChromium() && process.env.CI !== 'true') {
  console.log(
    '  (course book browser test not run: /usr/bin/chromium is missing; `apt-get install chromium` to run it)',
  );
} else {
  describe('the course book in headless Chromium', function () {
    this.timeout(300_000);
    let dir: string;
    let book: BookResult;
    let server: RunningServer;
    let inspector: Inspector;
    const reports = new Map<string, PageReport>();

    before(async function () {
      assert.ok(hasChromium(), 'CI must install chromium (see .ci/run)');
      mkdirSync(ARTIFACTS, { recursive: true });
      dir = mkdtempSync(join(ROOT, 'build', 'test-book-browser-'));
      book = await buildBook({
        notebooks: courseNotebooks(),
        outDir: join(dir, 'book'),
        fast: true,
      });
      server = await serveBook(book.outDir, 0);
      inspector = await openInspector(server.url);
    });
    after(async () => {
      await inspector?.close();
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('built every notebook of the course without a failure or a math error', () => {
      assert.ok(
        book.chapters.length >= 3,
        `expected the course's notebooks, got ${book.chapters.length}`,
      );
      assert.deepEqual(
        book.chapters.filter((c) => c.status !== 'passed').map((c) => c.name),
        [],
      );
      assert.deepEqual(book.mathErrors, []);
    });

    const pages = () => ['index.html', ...book.chapters.map((c) => c.page), 'exercises.html'];

    it('loads every page with no console error, no outside request and every figure drawn', async () => {
      const screenshot = join(ARTIFACTS, 'book-01-attention-pooling.png');
      for (const page of pages()) {
        const report = await inspector.inspect(
          page,
          page.startsWith('01-') ? screenshot : undefined,
        );
        reports.set(page, report);
        assert.deepEqual(problems(report), [], `${page} has problems`);
      }
      console.log(`      screenshot of a chapter: ${screenshot}`);
    });

    it('draws the figures of every chapter with plotly, and renders their math with KaTeX', () => {
      for (const chapter of book.chapters) {
        const report = reports.get(chapter.page);
        assert.ok(report, `${chapter.page} was not inspected`);
        assert.ok(report.figures.length >= 3, `${chapter.page}: ${report.figures.length} figures`);
        assert.ok(report.figures.every((f) => f.rendered === 'true' && f.marks > 0));
        assert.ok(report.katex >= 10, `${chapter.page}: ${report.katex} rendered formulas`);
        assert.match(report.title, /^\d\d · /);
      }
    });

    it('reports each kind of breakage in a sabotaged copy of the book', async () => {
      const broken = join(dir, 'broken');
      cpSync(book.outDir, broken, { recursive: true });
      const page = book.chapters[1].page;
      let html = readFileSync(join(broken, page), 'utf8');
      // 1. a figure whose data is not JSON; 2. a figure with no traces
      html = html.replace(/(<script type="application\/json" id="figure-1-json">)\{/, '$1{oops');
      html = html.replace(
        /(<script type="application\/json" id="figure-2-json">)\{"data":\[.*?\],"layout"/,
        '$1{"data":[],"layout"',
      );
      // 3. a script error; 4. an image from the internet; 5. a missing local file
      html = html.replace(
        '</main>',
        '<script>null.boom()</script><img src="http://example.org/x.png"><img src="assets/missing.png"></main>',
      );
      writeFileSync(join(broken, page), html);
      const brokenServer = await serveBook(broken, 0);
      const brokenInspector = await openInspector(brokenServer.url);
      try {
        const found = problems(await brokenInspector.inspect(page)).join('\n');
        assert.match(found, /figure figure-1 not drawn with data \(rendered=error/);
        assert.match(
          found,
          /console error: Figure figure-1 could not be drawn: its data is not valid JSON/,
        );
        assert.match(
          found,
          /figure figure-2 not drawn with data \(rendered=true, svg=true, marks=0\)/,
        );
        assert.match(found, /console error: uncaught: .*null/);
        assert.match(found, /request to the outside: http:\/\/example\.org\/x\.png/);
        assert.match(found, /failed request: .*assets\/missing\.png \(HTTP 404\)/);
        const figures = found.match(/not drawn/g) ?? [];
        assert.equal(figures.length, 2, `only the two sabotaged figures fail:\n${found}`);
      } finally {
        await brokenInspector.close();
        await brokenServer.close();
      }
    });
  });
}
