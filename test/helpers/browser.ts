/**
 * Loads pages of a built course book in Debian's headless Chromium (driven by playwright-core)
 * and reports what a reader would notice: console errors, requests that left the machine or
 * failed, figures that plotly did not draw with data, and math that KaTeX did not render.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet, offline, sandbox-free headless Chromium (see ENVIRONMENT.md). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

/** What one page showed. */
export interface PageReport {
  path: string;
  /** Console errors and uncaught exceptions, in order. */
  consoleErrors: string[];
  /** Requests to any host other than the book's server (they are blocked, then reported). */
  outsideRequests: string[];
  /** Requests to the book's server that failed or answered 4xx/5xx. */
  failedRequests: string[];
  /** Per plotly figure: its id, whether plotly drew it, and how many data marks its SVG has. */
  figures: { id: string; rendered: string | null; marks: number; svg: boolean }[];
  /** Rendered KaTeX expressions, and TeX the build could not render. */
  katex: number;
  mathErrors: number;
  /** The page's `<h1>`, for sanity. */
  title: string;
}

export interface Inspector {
  inspect(path: string, screenshot?: string): Promise<PageReport>;
  close(): Promise<void>;
}

/**
 * Starts Chromium with a fresh profile folder. `baseUrl` is the book's server; every request to
 * another origin is aborted and recorded, so a page that needs the network fails the check.
 */
export async function openInspector(baseUrl: string): Promise<Inspector> {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1400, height: 900 },
  });
  const origin = new URL(baseUrl).origin;
  const browser: Pick<Browser, 'close'> = context;
  return {
    async inspect(path, screenshot) {
      const page = await context.newPage();
      const report: PageReport = {
        path,
        consoleErrors: [],
        outsideRequests: [],
        failedRequests: [],
        figures: [],
        katex: 0,
        mathErrors: 0,
        title: '',
      };
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin) {
          return route.continue();
        }
        report.outsideRequests.push(url);
        return route.abort('blockedbyclient');
      });
      page.on('console', (msg) => {
        if (msg.type() === 'error') report.consoleErrors.push(msg.text());
      });
      page.on('pageerror', (err) => report.consoleErrors.push(`uncaught: ${err.message}`));
      page.on('requestfailed', (req) => {
        if (new URL(req.url()).origin === origin) {
          report.failedRequests.push(`${req.url()} (${req.failure()?.errorText})`);
        }
      });
      page.on('response', (res) => {
        if (res.status() >= 400) report.failedRequests.push(`${res.url()} (HTTP ${res.status()})`);
      });
      try {
        await page.goto(new URL(path, baseUrl).href, { waitUntil: 'load' });
        // Each figure ends with data-rendered = "true" (drawn) or "error" (fell back to static).
        await page
          .waitForFunction(
            () =>
              Array.from(document.querySelectorAll('.plotly-figure')).every((d) =>
                d.hasAttribute('data-rendered'),
              ),
            undefined,
            { timeout: 30_000 },
          )
          .catch(() => undefined); // undrawn figures are reported below
        await page.evaluate(() => document.fonts.ready);
        const found = await page.evaluate(() => {
          const figures = Array.from(document.querySelectorAll('.plotly-figure')).map((div) => {
            // Marks that only exist when a trace has data: line paths with a shape, scatter
            // points, heatmap images, bars.
            const lines = Array.from(div.querySelectorAll('.scatterlayer path.js-line')).filter(
              (p) => (p.getAttribute('d') ?? '').length > 2,
            ).length;
            const marks =
              lines +
              div.querySelectorAll(
                '.scatterlayer path.point, .heatmaplayer image, .imagelayer image, .barlayer path',
              ).length;
            return {
              id: div.id,
              rendered: div.getAttribute('data-rendered'),
              marks,
              svg: div.querySelector('svg.main-svg') !== null,
            };
          });
          return {
            figures,
            katex: document.querySelectorAll('.katex').length,
            mathErrors: document.querySelectorAll('.math-error, .katex-error').length,
            title: document.querySelector('h1')?.textContent ?? '',
          };
        });
        Object.assign(report, found);
        if (screenshot) await page.screenshot({ path: screenshot, fullPage: false });
      } finally {
        await page.close();
      }
      return report;
    },
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The problems in a report, one line each; empty when the page is as it should be. */
export function problems(report: PageReport): string[] {
  const out: string[] = [];
  for (const e of report.consoleErrors) out.push(`${report.path}: console error: ${e}`);
  for (const u of report.outsideRequests) out.push(`${report.path}: request to the outside: ${u}`);
  for (const u of report.failedRequests) out.push(`${report.path}: failed request: ${u}`);
  for (const f of report.figures) {
    if (f.rendered !== 'true' || !f.svg || f.marks === 0) {
      out.push(
        `${report.path}: figure ${f.id} not drawn with data (rendered=${f.rendered}, svg=${f.svg}, marks=${f.marks})`,
      );
    }
  }
  if (report.mathErrors > 0) out.push(`${report.path}: ${report.mathErrors} math error(s)`);
  return out;
}
