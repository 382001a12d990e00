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
import type { BookResult } from '../../tools/book/build';
import { fastCourseBook } from '../helpers/course-book';
import { scriptJson } from '../../tools/book/outputs';
import { serveBook, type RunningServer } from '../../tools/book/serve';
import {
  hasChromium,
  layoutProblems,
  openInspector,
  problems,
  type Inspector,
  type PageReport,
} from '../helpers/browser';

/** Window widths the figures must fit: a common laptop and a full-HD screen. */
const WIDTHS = [1280, 1920];

/** Plotly JSON is untyped; the sabotage edits it as plain records. */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Rewrites the JSON of figure `id` in a page's HTML with `edit`. */
function editFigure(html: string, id: string, edit: (fig: Json) => void): string {
  const re = new RegExp(`(<script type="application/json" id="${id}-json">)(.*?)(</script>)`, 's');
  const m = re.exec(html);
  assert.ok(m, `no JSON for ${id}`);
  const fig = JSON.parse(m[2]) as Json;
  edit(fig);
  return html.replace(re, (_all, open: string, _json: string, close: string) => {
    return `${open}${scriptJson(fig)}${close}`;
  });
}

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
      // The first test of the run to ask for the shared book waits for every notebook to run:
      // minutes on an idle machine, many more under load, so this wait has the course test's limit.
      this.timeout(45 * 60_000);
      assert.ok(hasChromium(), 'CI must install chromium (see .ci/run)');
      mkdirSync(ARTIFACTS, { recursive: true });
      dir = mkdtempSync(join(ROOT, 'build', 'test-book-browser-'));
      book = await fastCourseBook(); // shared with the course test: every notebook runs once
      server = await serveBook(book.outDir, 0);
      // The first width of the layout checks: its layout test reuses these pages' reports.
      inspector = await openInspector(server.url, { width: WIDTHS[0] });
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
        const report = await inspector.inspect(page, (r) =>
          page.startsWith('01-') ? screenshot : layoutShot(r, WIDTHS[0]),
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

    /** A full-page screenshot of a page with layout problems, for the log (they cost seconds). */
    const layoutShot = (report: PageReport, width: number): string | undefined =>
      layoutProblems(report).length === 0
        ? undefined
        : join(ARTIFACTS, `book-${report.path.replace(/\.html$/, '')}-${width}.png`);

    for (const width of WIDTHS) {
      it(`lays out every figure at ${width} px: fits its column, legend shown, no text on text, whole images`, async () => {
        // Pages already loaded at this width by the first test are measured from that load.
        const wide =
          width === WIDTHS[0] && book.chapters.every((c) => reports.has(c.page))
            ? null
            : await openInspector(server.url, { width });
        try {
          let imagesCompared = 0;
          let figures = 0;
          for (const chapter of book.chapters) {
            const report = wide
              ? await wide.inspect(chapter.page, (r) => layoutShot(r, width))
              : reports.get(chapter.page)!;
            assert.deepEqual(layoutProblems(report), [], `${chapter.page} at ${width} px`);
            assert.equal(report.layouts.length, report.figures.length, 'every figure measured');
            figures += report.layouts.length;
            for (const f of report.layouts) {
              imagesCompared += f.images.filter((im) => im.mismatch !== null).length;
            }
          }
          // The checks saw something: chapters 00 and 02 show plain images.
          assert.ok(imagesCompared >= 4, `${imagesCompared} image panels compared pixel by pixel`);
          console.log(
            `      ${width} px: ${figures} figures measured, ${imagesCompared} images compared`,
          );
        } finally {
          await wide?.close();
        }
      });
    }

    it('reports each layout defect planted in a sabotaged chapter, and only those', async () => {
      const broken = join(dir, 'broken-layout');
      cpSync(book.outDir, broken, { recursive: true });
      const page = book.chapters[0].page; // chapter 00: images, legends, heatmaps
      let html = readFileSync(join(broken, page), 'utf8');
      // 1. the original bug: an upscaled PNG placed one PNG pixel per image pixel
      html = editFigure(html, 'figure-1', (fig) => {
        for (const t of fig.data)
          if (t.type === 'image') for (const k of ['x0', 'y0', 'dx', 'dy']) delete t[k];
      });
      // 2. a figure wider than the column (the old 1,000 px figures)
      html = editFigure(html, 'figure-2', (fig) => {
        fig.layout.width = 1400;
      });
      html = html.replace('id="figure-2"', 'id="figure-2" style="width:1400px;max-width:none"');
      // 3. a legend pushed off the figure
      html = editFigure(html, 'figure-3', (fig) => {
        fig.layout.legend = { ...fig.layout.legend, x: 1.4 };
        fig.layout.margin = { ...fig.layout.margin, autoexpand: false };
      });
      // 4. a legend switched off, and a second title on top of a panel title
      html = editFigure(html, 'figure-5', (fig) => {
        fig.layout.showlegend = false;
        fig.layout.annotations.push({ ...fig.layout.annotations[0], text: 'OVERLAPPING TITLE' });
      });
      writeFileSync(join(broken, page), html);
      const brokenServer = await serveBook(broken, 0);
      const brokenInspector = await openInspector(brokenServer.url, { width: 1280 });
      try {
        const report = await brokenInspector.inspect(page);
        const found = layoutProblems(report).join('\n');
        assert.match(found, /figure-1: image on xy drawn at \[.*\] but its plot area is/);
        assert.match(found, /figure-1: image on x2y2 does not look like its PNG \(\d+% of/);
        assert.match(found, /figure-2 is 1400 px wide in a \d+ px column/);
        assert.match(found, /figure-3 shows 0 of 6 legend entries/);
        assert.match(found, /figure-3: text cut off at the figure's edge: "pop-out"/);
        assert.match(found, /figure-5 shows 0 of 2 legend entries/);
        assert.match(found, /figure-5: text overlaps text: .*"OVERLAPPING TITLE"/);
        const ids = new Set(found.match(/figure-\d+/g));
        assert.deepEqual([...ids].sort(), ['figure-1', 'figure-2', 'figure-3', 'figure-5'], found);
      } finally {
        await brokenInspector.close();
        await brokenServer.close();
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
