/**
 * Loads pages of a built course book in Debian's headless Chromium (driven by playwright-core)
 * and reports what a reader would notice: console errors, requests that left the machine or
 * failed, figures that plotly did not draw with data, and math that KaTeX did not render.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

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
  /** What each drawn figure looks like on screen (see `FigureLayoutReport`). */
  layouts: FigureLayoutReport[];
  /** Rendered KaTeX expressions, and TeX the build could not render. */
  katex: number;
  mathErrors: number;
  /** The page's `<h1>`, for sanity. */
  title: string;
}

/** The on-screen geometry of one drawn plotly figure. */
export interface FigureLayoutReport {
  id: string;
  /** Width of the drawn figure and of the text column it sits in (CSS pixels). */
  width: number;
  column: number;
  /** Legend entries the figure's JSON asks for, and how many are drawn inside the figure. */
  legendWanted: number;
  legendShown: number;
  /** Pairs of text elements whose boxes overlap, as "a" / "b". */
  overlaps: string[];
  /** Text elements that stick out of the figure (and are cut off). */
  clipped: string[];
  /** Per image panel: plot area vs drawn image (pixels) and, without an overlay, pixel error. */
  images: { axis: string; plot: number[]; image: number[]; mismatch: number | null }[];
}

export interface Inspector {
  /**
   * Loads `path` and reports what it shows. `screenshot` is a file for a full-page screenshot,
   * or a function of the report that names one (or not): a full-page screenshot costs seconds, so
   * a test can take it only when the page shows a problem.
   */
  inspect(
    path: string,
    screenshot?: string | ((report: PageReport) => string | undefined),
  ): Promise<PageReport>;
  close(): Promise<void>;
}

/** Options of `openInspector`. */
export interface InspectorOptions {
  /** Window width in CSS pixels (the text column follows). Defaults to 1400. */
  width?: number;
}

/**
 * Starts Chromium with a fresh profile folder. `baseUrl` is the book's server; every request to
 * another origin is aborted and recorded, so a page that needs the network fails the check.
 */
export async function openInspector(
  baseUrl: string,
  opts: InspectorOptions = {},
): Promise<Inspector> {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: opts.width ?? 1400, height: 900 },
  });
  // tsx (esbuild) wraps named inner functions in `__name(...)`; functions we send to the page
  // need that helper there too.
  await context.addInitScript({ content: 'window.__name = function (f) { return f; };' });
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
        layouts: [],
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
        report.layouts = await figureLayouts(page);
        const shot = typeof screenshot === 'function' ? screenshot(report) : screenshot;
        if (shot) await page.screenshot({ path: shot, fullPage: true });
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

/**
 * Measures every drawn figure of the page: its width against its text column, its legend, text
 * boxes that overlap or stick out, and each image panel's extent and pixels against its PNG.
 */
async function figureLayouts(page: Page): Promise<FigureLayoutReport[]> {
  const layouts = await page.evaluate(() => {
    const box = (e: Element): DOMRect => e.getBoundingClientRect();
    const label = (e: Element): string => {
      const cls = e.closest('[class]')?.getAttribute('class') ?? '';
      const text = (e.textContent ?? '').trim().slice(0, 30);
      return `"${text}" (${cls.split(' ')[0]})`;
    };
    return Array.from(document.querySelectorAll('.plotly-figure[data-rendered="true"]')).map(
      (div) => {
        const svg = div.querySelector('svg.main-svg');
        const json = document.getElementById(div.getAttribute('data-figure') ?? '');
        const figure = JSON.parse(json?.textContent ?? '{}') as {
          data?: { showlegend?: boolean; type?: string; xaxis?: string; yaxis?: string }[];
        };
        const traces = figure.data ?? [];
        const outer = svg ? box(svg) : box(div);
        const column = (div.parentElement ?? div).getBoundingClientRect();
        // Every visible text of the figure: titles, tick labels, legend, colour bar, annotations.
        const texts = Array.from(div.querySelectorAll('svg text')).filter((t) => {
          const r = box(t);
          return (t.textContent ?? '').trim() !== '' && r.width > 0 && r.height > 0;
        });
        const overlaps: string[] = [];
        const slack = 1; // anti-aliasing and rounding
        for (let a = 0; a < texts.length; a++) {
          const ra = box(texts[a]);
          for (let b = a + 1; b < texts.length; b++) {
            if (texts[a].contains(texts[b]) || texts[b].contains(texts[a])) continue;
            const rb = box(texts[b]);
            const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
            const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
            if (w > slack && h > slack) overlaps.push(`${label(texts[a])} / ${label(texts[b])}`);
          }
        }
        const clipped = texts
          .filter((t) => {
            const r = box(t);
            return (
              r.left < outer.left - slack ||
              r.right > outer.right + slack ||
              r.top < outer.top - slack ||
              r.bottom > outer.bottom + slack
            );
          })
          .map(label);
        const legendShown = Array.from(div.querySelectorAll('.legend .traces')).filter((t) => {
          const r = box(t);
          return (
            r.width > 0 &&
            r.left >= outer.left - slack &&
            r.right <= outer.right + slack &&
            r.top >= outer.top - slack &&
            r.bottom <= outer.bottom + slack
          );
        }).length;
        const images = traces
          .filter((t) => t.type === 'image')
          .map((t) => {
            const axis = `${t.xaxis ?? 'x'}${t.yaxis ?? 'y'}`;
            const drag = div.querySelector(`.draglayer .${axis} .nsewdrag`);
            const plot = drag ? box(drag) : outer;
            const overlay = traces.some(
              (o) => o.type === 'heatmap' && `${o.xaxis ?? 'x'}${o.yaxis ?? 'y'}` === axis,
            );
            const img = div.querySelector(`.subplot.${axis} .imagelayer image`);
            const r = img ? box(img) : new DOMRect();
            const source = (t as { source?: string }).source ?? '';
            // page coordinates, for a clipped full-page screenshot
            const [sx, sy] = [window.scrollX, window.scrollY];
            return {
              axis,
              plot: [plot.left + sx, plot.top + sy, plot.width, plot.height].map(Math.round),
              image: [r.left + sx, r.top + sy, r.width, r.height].map(Math.round),
              overlay,
              source,
            };
          });
        return {
          id: div.id,
          width: Math.round(outer.width),
          column: Math.round(column.width),
          legendWanted: traces.filter((t) => t.showlegend === true).length,
          legendShown,
          overlaps,
          clipped,
          images,
        };
      },
    );
  });
  // Pixels: the screenshot of each image panel's plot area against its PNG, both shrunk to a
  // 16 x 16 grid of averages by the browser's own canvas. One screenshot per figure covers all of
  // its image panels (a screenshot costs far more than cropping it); each panel is cropped from it.
  const out: FigureLayoutReport[] = [];
  for (const f of layouts) {
    const compared = f.images.filter((im) => !im.overlay && im.plot[2] > 4 && im.plot[3] > 4);
    let mismatches: number[] = [];
    if (compared.length > 0) {
      const left = Math.min(...compared.map((im) => im.plot[0]));
      const top = Math.min(...compared.map((im) => im.plot[1]));
      const right = Math.max(...compared.map((im) => im.plot[0] + im.plot[2]));
      const bottom = Math.max(...compared.map((im) => im.plot[1] + im.plot[3]));
      const clip = { x: left, y: top, width: right - left, height: bottom - top };
      const shot = await page.screenshot({ clip, fullPage: true });
      const panels = compared.map((im) => ({
        // the panel's plot area inside the screenshot, and its PNG
        crop: [im.plot[0] - left, im.plot[1] - top, im.plot[2], im.plot[3]],
        source: im.source,
      }));
      mismatches = await page.evaluate(
        async ([src, panels]) => {
          const load = async (url: string): Promise<HTMLImageElement> => {
            const el = new Image();
            el.src = url;
            await el.decode();
            return el;
          };
          const grid = (el: HTMLImageElement, crop?: number[]): Uint8ClampedArray => {
            const c = document.createElement('canvas');
            c.width = 16;
            c.height = 16;
            const ctx = c.getContext('2d')!;
            ctx.imageSmoothingEnabled = true;
            ctx.imageSmoothingQuality = 'high';
            if (crop) ctx.drawImage(el, crop[0], crop[1], crop[2], crop[3], 0, 0, 16, 16);
            else ctx.drawImage(el, 0, 0, 16, 16);
            return ctx.getImageData(0, 0, 16, 16).data;
          };
          const screen = await load(src);
          const out: number[] = [];
          for (const panel of panels) {
            const [p, q] = [grid(screen, panel.crop), grid(await load(panel.source))];
            let bad = 0;
            for (let k = 0; k < p.length; k += 4) {
              const d = Math.max(
                Math.abs(p[k] - q[k]),
                Math.abs(p[k + 1] - q[k + 1]),
                Math.abs(p[k + 2] - q[k + 2]),
              );
              if (d > 64) bad++;
            }
            out.push(bad / (p.length / 4));
          }
          return out;
        },
        [`data:image/png;base64,${shot.toString('base64')}`, panels] as const,
      );
    }
    const images: FigureLayoutReport['images'] = f.images.map((im) => {
      const k = compared.indexOf(im);
      return {
        axis: im.axis,
        plot: im.plot,
        image: im.image,
        mismatch: k >= 0 ? mismatches[k] : null,
      };
    });
    out.push({ ...f, images });
  }
  return out;
}

/**
 * What a reader would see wrong in the figures' layout, one line each: a figure wider than its
 * column, a legend missing or cut off, overlapping or cut-off text, and an image panel that does
 * not show exactly its whole image.
 */
export function layoutProblems(report: PageReport): string[] {
  const out: string[] = [];
  const at = (f: FigureLayoutReport): string => `${report.path}: figure ${f.id}`;
  for (const f of report.layouts) {
    if (f.width > f.column + 1) {
      out.push(`${at(f)} is ${f.width} px wide in a ${f.column} px column`);
    }
    if (f.legendShown < f.legendWanted) {
      out.push(`${at(f)} shows ${f.legendShown} of ${f.legendWanted} legend entries`);
    }
    for (const o of f.overlaps) out.push(`${at(f)}: text overlaps text: ${o}`);
    for (const c of f.clipped) out.push(`${at(f)}: text cut off at the figure's edge: ${c}`);
    for (const im of f.images) {
      const off = im.plot.map((v, k) => Math.abs(v - im.image[k]));
      if (Math.max(...off) > 2) {
        out.push(
          `${at(f)}: image on ${im.axis} drawn at [${im.image}] but its plot area is [${im.plot}]`,
        );
      }
      if (im.mismatch !== null && im.mismatch > 0.05) {
        out.push(
          `${at(f)}: image on ${im.axis} does not look like its PNG ` +
            `(${Math.round(im.mismatch * 100)}% of a 16 x 16 grid differs)`,
        );
      }
    }
  }
  return out;
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
