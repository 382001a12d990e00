/**
 * Figures for notebooks: every figure is described once in a small typed model (`Figure`, a grid
 * of `Panel`s) and rendered two ways from it:
 *
 * - `toPlotly`: plotly JSON, interactive in VS Code, JupyterLab and the course book;
 * - `toSvg`: a small static SVG (no script, no network) for the offline HTML export and any front
 *   end without plotly.
 *
 * `figureBundle` puts both in one mime bundle (plus a one-line `text/plain`), so each front end
 * picks the richest output it can show.
 *
 * Missing values: NaN and +-Infinity in a heatmap are allowed (a fully masked row of attention
 * scores is something a student may want to look at). They are left out of the automatic colour
 * range, drawn as grey cells in the SVG and sent as `null` (a gap) to plotly, and counted in the
 * `text/plain` summary. In line series they break the line. Image pixels must be finite.
 */
import { checkColormap, colorAt, colorscaleFor, type ColormapName, type Rgb } from './colormap';
import { display, type MimeBundle } from './display';
import { escapeXml, formatMetric, round4 } from './format';
import { pngDataUri } from './png';

/** How a line series is drawn. */
export type LineMode = 'lines' | 'markers' | 'lines+markers';

/** One named series of a line chart; `x` and `y` have the same length. */
export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
  /** Defaults to `'lines'`. */
  mode?: LineMode;
}

/** A matrix shown as coloured cells, row 0 at the top (e.g. attention weights [T, S]). */
export interface HeatmapPanel {
  kind: 'heatmap';
  /** Rows of equal length. NaN/Infinity are drawn as missing (grey in SVG, a gap in plotly). */
  z: number[][];
  /** One label per column (e.g. key tokens). Defaults to the column indices. */
  xLabels?: string[];
  /** One label per row (e.g. query tokens). Defaults to the row indices. */
  yLabels?: string[];
  /** Colour range; each defaults to the min/max of the finite values. */
  zmin?: number;
  zmax?: number;
  /** Defaults to `'viridis'`. */
  colormap?: ColormapName;
  title?: string;
  xTitle?: string;
  yTitle?: string;
}

/** Line and/or marker series on shared axes (losses, accuracies, learning rates). */
export interface LinesPanel {
  kind: 'lines';
  series: LineSeries[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Logarithmic y axis; values <= 0 are not drawn. */
  logY?: boolean;
}

/** A picture, optionally with a semi-transparent heatmap (e.g. attention over patches) on top. */
export interface ImagePanel {
  kind: 'image';
  /** [H, W] grey levels or [H, W, 3] RGB, values in [0, 1] (clamped). */
  pixels: number[][] | number[][][];
  /**
   * Drawn over the whole image; a [h, w] overlay is stretched to [H, W] (nearest neighbour). Its
   * colours span its own finite min..max.
   */
  overlay?: { z: number[][]; opacity?: number; colormap?: ColormapName };
  title?: string;
}

/** One subplot of a figure. */
export type Panel = HeatmapPanel | LinesPanel | ImagePanel;

/** A grid of panels, filled row by row. */
export interface Figure {
  title?: string;
  panels: Panel[];
  /** Grid columns. Defaults to `min(panels.length, 4)`. */
  columns?: number;
  /** Size in pixels. Defaults depend on the grid. */
  width?: number;
  height?: number;
}

/** Series colours, shared by both renderers. */
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** The colour of missing heatmap cells in the SVG. */
const MISSING: Rgb = [200, 200, 200];

const FONT_SIZE = 11;
/** Rough width of one character at FONT_SIZE, for layout without measuring text. */
const CHAR_PX = 6.2;
/** Labels longer than this are shortened with an ellipsis. */
const MAX_LABEL_CHARS = 12;
const PLOTLY_TYPE = 'application/vnd.plotly.v1+json';

// ---------------------------------------------------------------------------------------------
// Validation

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Checks that `m` is a non-empty rectangular matrix of numbers and returns [rows, cols]. */
function checkMatrix(m: unknown, where: string, name: string, finite: boolean): [number, number] {
  if (!Array.isArray(m) || m.length === 0) {
    throw new Error(
      `${where}: expected ${name} to be a non-empty array of rows, got ${describeValue(m)}`,
    );
  }
  const first: unknown = m[0];
  if (!Array.isArray(first) || first.length === 0) {
    throw new Error(
      `${where}: expected ${name}[0] to be a non-empty array, got ${describeValue(first)}`,
    );
  }
  const cols = first.length;
  m.forEach((row: unknown, i) => {
    if (!Array.isArray(row)) {
      throw new Error(`${where}: expected ${name}[${i}] to be an array, got ${describeValue(row)}`);
    }
    if (row.length !== cols) {
      throw new Error(
        `${where}: expected ${name} to be rectangular: row ${i} has ${row.length} values, ` +
          `expected ${cols} (the length of row 0)`,
      );
    }
    row.forEach((v: unknown, j) => {
      if (typeof v !== 'number' || (finite && !Number.isFinite(v))) {
        throw new Error(
          `${where}: expected ${name}[${i}][${j}] to be a ${finite ? 'finite ' : ''}number, ` +
            `got ${describeValue(v)}`,
        );
      }
    });
  });
  return [m.length, cols];
}

function checkLabels(
  labels: unknown,
  count: number,
  where: string,
  name: string,
  per: string,
): void {
  if (labels === undefined) return;
  if (!Array.isArray(labels)) {
    throw new Error(
      `${where}: expected ${name} to be an array of strings, got ${describeValue(labels)}`,
    );
  }
  if (labels.length !== count) {
    throw new Error(`${where}: expected ${count} ${name} (one per ${per}), got ${labels.length}`);
  }
  labels.forEach((l: unknown, i) => {
    if (typeof l !== 'string') {
      throw new Error(`${where}: expected ${name}[${i}] to be a string, got ${describeValue(l)}`);
    }
  });
}

function checkOptionalNumber(v: unknown, where: string, name: string): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) {
    throw new Error(`${where}: expected ${name} to be a finite number, got ${describeValue(v)}`);
  }
}

/** Dimensions of image pixels: [H, W, channels] with channels 1 (grey) or 3 (RGB). */
function imageDims(pixels: unknown, where: string): [number, number, 1 | 3] {
  const row0 = Array.isArray(pixels) ? (pixels[0] as unknown) : undefined;
  const px0 = Array.isArray(row0) ? (row0[0] as unknown) : undefined;
  if (!Array.isArray(px0)) {
    const [h, w] = checkMatrix(pixels, where, 'pixels', true);
    return [h, w, 1];
  }
  const rows = pixels as unknown[];
  const w = (row0 as unknown[]).length;
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== w) {
      throw new Error(
        `${where}: expected pixels to be rectangular: row ${i} has ` +
          `${Array.isArray(row) ? row.length : describeValue(row)} pixels, expected ${w}`,
      );
    }
    row.forEach((px: unknown, j) => {
      if (!Array.isArray(px) || px.length !== 3) {
        throw new Error(
          `${where}: expected pixels[${i}][${j}] to be an [r, g, b] triple, got ${describeValue(px)}`,
        );
      }
      px.forEach((v: unknown, c) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new Error(
            `${where}: expected pixels[${i}][${j}][${c}] to be a finite number, got ${describeValue(v)}`,
          );
        }
      });
    });
  });
  return [rows.length, w, 3];
}

function checkPanel(p: Panel, i: number): void {
  const kind = (p as { kind?: unknown } | null)?.kind;
  const where = `panel ${i} (${String(kind)})`;
  if (kind === 'heatmap') {
    const h = p as HeatmapPanel;
    const [rows, cols] = checkMatrix(h.z, where, 'z', false);
    checkLabels(h.xLabels, cols, where, 'xLabels', 'column');
    checkLabels(h.yLabels, rows, where, 'yLabels', 'row');
    checkOptionalNumber(h.zmin, where, 'zmin');
    checkOptionalNumber(h.zmax, where, 'zmax');
    if (h.zmin !== undefined && h.zmax !== undefined && !(h.zmin < h.zmax)) {
      throw new Error(`${where}: expected zmin < zmax, got zmin ${h.zmin} and zmax ${h.zmax}`);
    }
    if (h.colormap !== undefined) checkColormap(h.colormap, `${where}: colormap`);
  } else if (kind === 'lines') {
    const l = p as LinesPanel;
    if (!Array.isArray(l.series) || l.series.length === 0) {
      throw new Error(`${where}: expected at least one series, got ${describeValue(l.series)}`);
    }
    l.series.forEach((s, k) => {
      const name = typeof s?.name === 'string' ? `series "${s.name}"` : `series ${k}`;
      if (typeof s?.name !== 'string') {
        throw new Error(
          `${where}: expected ${name} to have a string name, got ${describeValue(s?.name)}`,
        );
      }
      for (const axis of ['x', 'y'] as const) {
        const values: unknown = s[axis];
        if (!Array.isArray(values) || values.some((v) => typeof v !== 'number')) {
          throw new Error(`${where}: expected ${name} ${axis} to be an array of numbers`);
        }
      }
      if (s.x.length !== s.y.length) {
        throw new Error(
          `${where}: expected ${name} x and y of equal length, got ${s.x.length} x and ${s.y.length} y`,
        );
      }
      if (s.mode !== undefined && !['lines', 'markers', 'lines+markers'].includes(s.mode)) {
        throw new Error(
          `${where}: expected ${name} mode 'lines', 'markers' or 'lines+markers', got ${describeValue(s.mode)}`,
        );
      }
    });
  } else if (kind === 'image') {
    const im = p as ImagePanel;
    imageDims(im.pixels, where);
    if (im.overlay !== undefined) {
      checkMatrix(im.overlay.z, where, 'overlay.z', false);
      const o = im.overlay.opacity;
      if (o !== undefined && (typeof o !== 'number' || !(o >= 0 && o <= 1))) {
        throw new Error(`${where}: expected overlay.opacity in [0, 1], got ${describeValue(o)}`);
      }
      if (im.overlay.colormap !== undefined) {
        checkColormap(im.overlay.colormap, `${where}: overlay.colormap`);
      }
    }
  } else {
    throw new Error(
      `panel ${i}: expected kind 'heatmap', 'lines' or 'image', got ${describeValue(kind)}`,
    );
  }
}

/**
 * Throws unless `fig` can be drawn: at least one panel, rectangular numeric matrices, one label
 * per row/column, x and y of equal length in each series, known colour maps. Messages name the
 * panel and what was expected versus what was found. The renderers call it; figure builders call
 * it too, so that a mistake shows up where the figure is made.
 */
export function checkFigure(fig: Figure): void {
  if (fig === null || typeof fig !== 'object') {
    throw new TypeError(`figure: expected an object with panels, got ${describeValue(fig)}`);
  }
  if (!Array.isArray(fig.panels) || fig.panels.length === 0) {
    throw new Error(`figure: expected at least one panel, got ${describeValue(fig.panels)}`);
  }
  const c = fig.columns;
  if (c !== undefined && (typeof c !== 'number' || !Number.isInteger(c) || c < 1)) {
    throw new Error(`figure: expected columns to be a positive integer, got ${describeValue(c)}`);
  }
  for (const key of ['width', 'height'] as const) {
    const v = fig[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 50)) {
      throw new Error(
        `figure: expected ${key} to be a number >= 50 (pixels), got ${describeValue(v)}`,
      );
    }
  }
  fig.panels.forEach(checkPanel);
}

// ---------------------------------------------------------------------------------------------
// Shared layout and helpers

interface Grid {
  columns: number;
  rows: number;
  width: number;
  height: number;
  /** Height of the figure title band (SVG pixels). */
  titleH: number;
  cellW: number;
  cellH: number;
}

function gridOf(fig: Figure): Grid {
  const n = fig.panels.length;
  const columns = Math.min(fig.columns ?? Math.min(n, 4), n);
  const rows = Math.ceil(n / columns);
  const titleH = fig.title ? 30 : 0;
  // 680 px fits the course book's text column at a 1280 px window, and a notebook's output area.
  const width = fig.width ?? (columns === 1 ? 520 : 680);
  const defaultCellH = Math.min(380, Math.max(220, Math.round((width / columns) * 0.8)));
  const height = fig.height ?? titleH + rows * defaultCellH;
  return {
    columns,
    rows,
    width,
    height,
    titleH,
    cellW: width / columns,
    cellH: Math.max(40, (height - titleH) / rows),
  };
}

/** Finite min and max of a matrix, or null when it has no finite value. */
function finiteRange(z: number[][]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of z) {
    for (const v of row) {
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** The colour range of a heatmap: explicit bounds win, the rest comes from the data. */
function colourRange(z: number[][], zmin?: number, zmax?: number): [number, number] {
  const data = finiteRange(z) ?? [0, 1];
  let lo = zmin ?? data[0];
  let hi = zmax ?? data[1];
  if (!(lo < hi)) {
    // A constant matrix (or one bound beyond the data) still needs a non-empty range.
    if (zmax === undefined) hi = lo + 1;
    else lo = hi - 1;
  }
  return [lo, hi];
}

function countNonFinite(z: number[][]): number {
  let n = 0;
  for (const row of z) for (const v of row) if (!Number.isFinite(v)) n++;
  return n;
}

/** Every `step`-th index so that at most `available / perLabel` labels are shown. */
function labelStep(count: number, availablePx: number, perLabelPx: number): number {
  const fits = Math.max(1, Math.floor(availablePx / perLabelPx));
  return Math.max(1, Math.ceil(count / fits));
}

function shorten(label: string): string {
  return label.length > MAX_LABEL_CHARS ? `${label.slice(0, MAX_LABEL_CHARS - 1)}…` : label;
}

function indexLabels(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i));
}

/** RGBA bytes of a matrix through a colour map; non-finite cells get the missing colour. */
function heatmapRgba(z: number[][], name: ColormapName, lo: number, hi: number): Uint8Array {
  const cols = z[0].length;
  const out = new Uint8Array(z.length * cols * 4);
  z.forEach((row, i) =>
    row.forEach((v, j) => {
      const c = Number.isFinite(v) ? colorAt(name, (v - lo) / (hi - lo)) : MISSING;
      out.set([c[0], c[1], c[2], 255], (i * cols + j) * 4);
    }),
  );
  return out;
}

function imageRgba(pixels: number[][] | number[][][], h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w * 4);
  const byte = (v: number): number => Math.round(Math.min(1, Math.max(0, v)) * 255);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const px = pixels[i][j];
      const [r, g, b] = Array.isArray(px) ? px.map(byte) : [byte(px), byte(px), byte(px)];
      out.set([r, g, b, 255], (i * w + j) * 4);
    }
  }
  return out;
}

/**
 * A PNG data URI with each cell drawn as a k x k block (k chosen so the image is about 256 px).
 * `image-rendering: pixelated` alone is not honoured everywhere (some SVG renderers and notebook
 * viewers smooth a tiny image into a blur); blocks stay crisp in all of them and, being runs of
 * equal bytes, cost little after deflate.
 */
/** The block size `crispPngUri` uses for a w x h image. */
function crispScale(w: number, h: number): number {
  return Math.max(1, Math.min(32, Math.floor(256 / Math.max(w, h))));
}

function crispPngUri(w: number, h: number, rgba: Uint8Array): string {
  const k = crispScale(w, h);
  if (k === 1) return pngDataUri(w, h, rgba);
  const W = w * k;
  const out = new Uint8Array(W * h * k * 4);
  for (let i = 0; i < h * k; i++) {
    const src = Math.floor(i / k) * w;
    for (let j = 0; j < W; j++) {
      const from = (src + Math.floor(j / k)) * 4;
      out.set(rgba.subarray(from, from + 4), (i * W + j) * 4);
    }
  }
  return pngDataUri(W, h * k, out);
}

/** The image as a PNG data URI, its size in image pixels, and the PNG's upscaling factor k. */
function imageUri(p: ImagePanel): { uri: string; h: number; w: number; k: number } {
  const [h, w] = imageDims(p.pixels, 'image');
  return { uri: crispPngUri(w, h, imageRgba(p.pixels, h, w)), h, w, k: crispScale(w, h) };
}

// ---------------------------------------------------------------------------------------------
// Plotly

/** Plotly draws its text as pseudo-HTML: escape what it would take for markup. */
function plotlyText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

function roundOrNull(v: number): number | null {
  return Number.isFinite(v) ? round4(v) : null;
}

/** Brick edges of a heatmap stretched over `pixels` pixels: cell k spans [k, k + 1) * pixels/n. */
function edges(starts: number[], n: number, pixels: number): number[] {
  return [...starts, n].map((k) => round4((k * pixels) / n - 0.5));
}

/**
 * Drops repeated consecutive rows and columns of an overlay (a nearest-neighbour upsampled patch
 * grid repeats each value over a block) and returns the kept indices, so plotly receives the
 * patch grid plus brick edges instead of one number per image pixel.
 */
function collapseRuns(z: number[][]): { rows: number[]; cols: number[] } {
  const same = (a: number, b: number): boolean => a === b || (Number.isNaN(a) && Number.isNaN(b));
  const rows = [0];
  for (let i = 1; i < z.length; i++) {
    if (!z[i].every((v, j) => same(v, z[i - 1][j]))) rows.push(i);
  }
  const cols = [0];
  for (let j = 1; j < z[0].length; j++) {
    if (!z.every((row) => same(row[j], row[j - 1]))) cols.push(j);
  }
  return { rows, cols };
}

function axisNames(k: number): { x: string; y: string; xKey: string; yKey: string } {
  const suffix = k === 1 ? '' : String(k);
  return { x: `x${suffix}`, y: `y${suffix}`, xKey: `xaxis${suffix}`, yKey: `yaxis${suffix}` };
}

/** Room (pixels) a panel needs around its plot area for titles, tick labels and a colour bar. */
interface Room {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Width of a plotly colour bar with its tick labels (font 9), plus the gap to the plot. */
const COLORBAR_PX = 8 + 10 + 4 + 5 * 6;
/** Height of a panel title band. */
const PANEL_TITLE_PX = 22;
/** Height of one axis title line. */
const AXIS_TITLE_PX = 18;

/**
 * The colour range and map that all heatmaps of `fig` share, or null when they differ (or there
 * are fewer than two, or an image carries an overlay): a shared scale needs one colour bar only.
 */
function sharedScale(fig: Figure): { lo: number; hi: number; name: ColormapName } | null {
  const heat = fig.panels.filter((p): p is HeatmapPanel => p.kind === 'heatmap');
  if (heat.length < 2 || fig.panels.some((p) => p.kind === 'image' && p.overlay)) return null;
  const scales = heat.map((p) => {
    const [lo, hi] = colourRange(p.z, p.zmin, p.zmax);
    return { lo: round4(lo), hi: round4(hi), name: p.colormap ?? 'viridis' };
  });
  const [first] = scales;
  const same = scales.every((s) => s.lo === first.lo && s.hi === first.hi && s.name === first.name);
  return same ? first : null;
}

/** Width in pixels of the widest of `labels` at the figure's font size. */
function labelsPx(labels: string[]): number {
  return Math.max(0, ...labels.map((l) => l.length)) * CHAR_PX;
}

/** Tick labels plotly will likely print on a linear or log axis spanning `values`. */
function likelyTickLabels(values: number[], log: boolean): string[] {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  const [lo, hi] = span(log ? finite.map(Math.log10) : finite);
  const ticks = log ? logTicks(lo, hi).map((t) => round4(10 ** t)) : niceTicks(lo, hi, 6);
  return ticks.map(formatMetric);
}

/**
 * A panel title in lines that fit `widthPx` (font 12): broken at spaces, at most two lines, the
 * second shortened with an ellipsis if it is still too long.
 */
function titleLines(title: string, widthPx: number): string[] {
  const fits = Math.max(8, Math.floor(widthPx / 6.8));
  if (title.length <= fits) return [title];
  const words = title.split(' ');
  let first = '';
  while (words.length > 1 && `${first} ${words[0]}`.trim().length <= fits) {
    first = `${first} ${words.shift()}`.trim();
  }
  if (!first) return [shorten(title)];
  const rest = words.join(' ');
  return [first, rest.length <= fits ? rest : `${rest.slice(0, fits - 1)}…`];
}

function panelRoom(p: Panel, cell: Box, shared: boolean): Room {
  const lines = p.title ? titleLines(p.title, cell.w - 20).length : 0;
  const top = lines === 0 ? 6 : PANEL_TITLE_PX + (lines - 1) * 15;
  if (p.kind === 'heatmap') {
    const geo = heatmapGeometry(p, cell);
    const xTicksPx = geo.rotateX ? labelsPx(geo.xLabels) + 8 : 18;
    return {
      left: labelsPx(geo.yLabels) + 10 + (p.yTitle ? AXIS_TITLE_PX : 0),
      right: shared ? 8 : COLORBAR_PX,
      top,
      bottom: xTicksPx + (p.xTitle ? AXIS_TITLE_PX : 0) + 4,
    };
  }
  if (p.kind === 'lines') {
    const ys = p.series.flatMap((s) => s.y);
    return {
      left: labelsPx(likelyTickLabels(ys, p.logY === true)) + 12 + (p.yTitle ? AXIS_TITLE_PX : 0),
      right: 14,
      top,
      bottom: 20 + (p.xTitle ? AXIS_TITLE_PX : 0) + 4,
    };
  }
  return { left: 6, right: p.overlay ? COLORBAR_PX : 6, top, bottom: 6 };
}

/** Positions `n` plot areas of equal size along `total` pixels, given the room around each. */
function placeAlong(total: number, before: number[], after: number[]): [number, number][] {
  const n = before.length;
  const rooms = before.reduce((a, b) => a + b, 0) + after.reduce((a, b) => a + b, 0);
  const size = Math.max(20, (total - rooms) / n);
  const out: [number, number][] = [];
  let at = 0;
  for (let k = 0; k < n; k++) {
    at += before[k];
    out.push([at, at + size]);
    at += size + after[k];
  }
  return out;
}

/**
 * Colours of line series by name, in order of first appearance in the figure, so that a series
 * keeps its colour (and its single legend entry) in every panel it appears in.
 */
function seriesColours(fig: Figure): Map<string, string> {
  const colours = new Map<string, string>();
  for (const p of fig.panels) {
    if (p.kind !== 'lines') continue;
    for (const s of p.series) {
      if (!colours.has(s.name)) colours.set(s.name, PALETTE[colours.size % PALETTE.length]);
    }
  }
  return colours;
}

/** Names that get a legend entry: series of panels with more than one series, each name once. */
function legendNames(fig: Figure): string[] {
  const names: string[] = [];
  for (const p of fig.panels) {
    if (p.kind !== 'lines' || p.series.length < 2) continue;
    for (const s of p.series) if (!names.includes(s.name)) names.push(s.name);
  }
  return names;
}

function renderPlotly(fig: Figure): { data: object[]; layout: Record<string, unknown> } {
  const g = gridOf(fig);
  const W = Math.round(g.width);
  const H = Math.round(g.height);
  const shared = sharedScale(fig);
  const colours = seriesColours(fig);
  const legend = legendNames(fig);
  const margin = { l: 4, r: shared ? COLORBAR_PX + 4 : 4, t: 4, b: 4 };
  const PW = W - margin.l - margin.r;
  // The legend goes in a band under the figure title, above the panels: it never covers data.
  const legendPx = legend.reduce((a, n) => a + shorten(n).length * CHAR_PX + 40, 0);
  const legendLines = legend.length > 0 ? Math.ceil(legendPx / PW) : 0;
  margin.t += (fig.title ? 30 : 0) + legendLines * 22;
  const PH = H - margin.t - margin.b;

  const cell: Box = { x: 0, y: 0, w: g.cellW, h: g.cellH };
  const rooms = fig.panels.map((p) => panelRoom(p, cell, shared !== null));
  const colMax = (c: number, k: 'left' | 'right'): number =>
    Math.max(0, ...rooms.filter((_, i) => i % g.columns === c).map((r) => r[k]));
  const rowMax = (r: number, k: 'top' | 'bottom'): number =>
    Math.max(0, ...rooms.filter((_, i) => Math.floor(i / g.columns) === r).map((q) => q[k]));
  const cols = Array.from({ length: g.columns }, (_, c) => c);
  const rows = Array.from({ length: g.rows }, (_, r) => r);
  const xs = placeAlong(
    PW,
    cols.map((c) => colMax(c, 'left')),
    cols.map((c) => colMax(c, 'right')),
  );
  const ys = placeAlong(
    PH,
    rows.map((r) => rowMax(r, 'top')),
    rows.map((r) => rowMax(r, 'bottom')),
  );

  const data: object[] = [];
  const annotations: object[] = [];
  const layout: Record<string, unknown> = {
    width: W,
    height: H,
    margin,
    font: { size: FONT_SIZE, family: 'sans-serif' },
    showlegend: legend.length > 0,
  };
  if (fig.title) {
    layout.title = {
      text: plotlyText(fig.title),
      x: 0.5,
      xanchor: 'center',
      y: round4(1 - 8 / H),
      yanchor: 'top',
      font: { size: 14 },
    };
  }
  if (legend.length > 0) {
    layout.legend = {
      orientation: 'h',
      x: 0,
      xanchor: 'left',
      y: 1,
      yanchor: 'bottom',
      font: { size: FONT_SIZE },
    };
  }
  if (shared) {
    layout.coloraxis = {
      cmin: shared.lo,
      cmax: shared.hi,
      colorscale: colorscaleFor(shared.name),
      colorbar: {
        x: round4(1 + 8 / PW),
        xanchor: 'left',
        y: round4(1 - ys[0][0] / PH),
        yanchor: 'top',
        len: round4((ys[0][1] - ys[0][0]) / PH),
        thickness: 10,
        outlinewidth: 0,
        tickfont: { size: 9 },
      },
    };
  }
  const onLegend = new Set<string>();

  fig.panels.forEach((p, i) => {
    const [left, right] = xs[i % g.columns];
    const [top, bottom] = ys[Math.floor(i / g.columns)];
    const x0 = round4(left / PW);
    const x1 = round4(right / PW);
    const y0 = round4(1 - bottom / PH);
    const y1 = round4(1 - top / PH);
    const colorbar = {
      x: round4((right + 8) / PW),
      xanchor: 'left',
      y: round4((y0 + y1) / 2),
      yanchor: 'middle',
      len: round4(y1 - y0),
      thickness: 10,
      outlinewidth: 0,
      tickfont: { size: 9 },
    };
    const ax = axisNames(i + 1);
    const xaxis: Record<string, unknown> = { domain: [x0, x1], anchor: ax.y, zeroline: false };
    const yaxis: Record<string, unknown> = { domain: [y0, y1], anchor: ax.x, zeroline: false };
    if (p.title) {
      annotations.push({
        text: titleLines(p.title, right - left + 40)
          .map(plotlyText)
          .join('<br>'),
        x: round4((x0 + x1) / 2),
        y: y1,
        xref: 'paper',
        yref: 'paper',
        xanchor: 'center',
        yanchor: 'bottom',
        yshift: 2,
        showarrow: false,
        font: { size: 12 },
      });
    }

    if (p.kind === 'heatmap') {
      const [lo, hi] = colourRange(p.z, p.zmin, p.zmax);
      const plotBox = { x: 0, y: 0, w: right - left, h: bottom - top };
      const geo = heatmapGeometry(p, cell);
      // Thin the labels for the plot area this panel really got.
      const yStep = labelStep(p.z.length, plotBox.h, 13);
      const yTicks = ticksEvery(p.z.length, yStep);
      const xStep = geo.rotateX ? labelStep(p.z[0].length, plotBox.w, 13) : 1;
      const xTicks = ticksEvery(p.z[0].length, xStep);
      const xTitle = p.xTitle ?? 'column';
      const yTitle = p.yTitle ?? 'row';
      const scale = shared
        ? { coloraxis: 'coloraxis' }
        : {
            zmin: round4(lo),
            zmax: round4(hi),
            colorscale: colorscaleFor(p.colormap ?? 'viridis'),
            colorbar,
          };
      data.push({
        type: 'heatmap',
        z: p.z.map((r) => r.map(roundOrNull)),
        ...scale,
        xaxis: ax.x,
        yaxis: ax.y,
        hovertemplate: `${plotlyText(yTitle)} %{y}, ${plotlyText(xTitle)} %{x}: %{z}<extra></extra>`,
      });
      // Index axes with label text: categorical axes would merge repeated tokens ("the", "the").
      Object.assign(xaxis, {
        tickmode: 'array',
        tickvals: xTicks,
        ticktext: xTicks.map((k) => plotlyText(geo.xLabels[k])),
        tickangle: geo.rotateX ? -90 : 0,
        showgrid: false,
      });
      Object.assign(yaxis, {
        tickmode: 'array',
        tickvals: yTicks,
        ticktext: yTicks.map((k) => plotlyText(geo.yLabels[k])),
        autorange: 'reversed', // row 0 on top, like the matrix is written
        showgrid: false,
      });
      if (p.xTitle) xaxis.title = { text: plotlyText(p.xTitle), standoff: 4 };
      if (p.yTitle) yaxis.title = { text: plotlyText(p.yTitle), standoff: 4 };
    } else if (p.kind === 'lines') {
      p.series.forEach((s) => {
        const color = colours.get(s.name) ?? PALETTE[0];
        const listed = legend.includes(s.name) && !onLegend.has(s.name);
        if (listed) onLegend.add(s.name);
        data.push({
          type: 'scatter',
          mode: s.mode ?? 'lines',
          name: plotlyText(s.name),
          legendgroup: plotlyText(s.name),
          x: s.x.map(roundOrNull),
          y: s.y.map((v) => (p.logY && !(v > 0) ? null : roundOrNull(v))),
          xaxis: ax.x,
          yaxis: ax.y,
          line: { color, width: 2 },
          marker: { color, size: 5 },
          showlegend: listed,
        });
      });
      if (p.logY) {
        yaxis.type = 'log';
        // Within two decades plotly labels every digit (8 and 9 collide): label 2 and 5 only.
        const ys = p.series.flatMap((s) => s.y).filter((v) => v > 0 && Number.isFinite(v));
        const [lo, hi] = span(ys.map(Math.log10));
        if (hi - lo < 2) yaxis.dtick = 'D2';
      }
      if (p.xTitle) xaxis.title = { text: plotlyText(p.xTitle), standoff: 4 };
      if (p.yTitle) yaxis.title = { text: plotlyText(p.yTitle), standoff: 4 };
    } else {
      const img = imageUri(p);
      // The same PNG as the SVG: far smaller than pixel values as JSON. It is upscaled k times,
      // so one PNG pixel is 1/k of an image pixel: the image spans [-0.5, w - 0.5] on x.
      const d = 1 / img.k;
      data.push({
        type: 'image',
        source: img.uri,
        x0: round4(-0.5 + d / 2),
        y0: round4(-0.5 + d / 2),
        dx: round4(d),
        dy: round4(d),
        xaxis: ax.x,
        yaxis: ax.y,
        hovertemplate: 'x %{x:.0f}, y %{y:.0f}<extra></extra>',
      });
      if (p.overlay) {
        const [lo, hi] = colourRange(p.overlay.z);
        const { rows: keepRows, cols: keepCols } = collapseRuns(p.overlay.z);
        data.push({
          type: 'heatmap',
          z: keepRows.map((r) => keepCols.map((c) => roundOrNull(p.overlay!.z[r][c]))),
          x: edges(keepCols, p.overlay.z[0].length, img.w),
          y: edges(keepRows, p.overlay.z.length, img.h),
          zmin: round4(lo),
          zmax: round4(hi),
          opacity: p.overlay.opacity ?? 0.5,
          colorscale: colorscaleFor(p.overlay.colormap ?? 'viridis'),
          xaxis: ax.x,
          yaxis: ax.y,
          colorbar,
          hovertemplate: 'x %{x}, y %{y}: %{z}<extra></extra>',
        });
      }
      const bare = { showticklabels: false, showgrid: false, ticks: '', constrain: 'domain' };
      Object.assign(xaxis, bare, { range: [-0.5, img.w - 0.5] });
      Object.assign(yaxis, bare, { range: [img.h - 0.5, -0.5], scaleanchor: ax.x });
    }
    layout[ax.xKey] = xaxis;
    layout[ax.yKey] = yaxis;
  });
  if (annotations.length > 0) layout.annotations = annotations;
  return { data, layout };
}

/**
 * Plotly JSON for `fig`: one trace per heatmap / line series / image (plus one for an overlay),
 * subplots placed with axis domains (`xaxis`, `xaxis2`, ... anchored to their `yaxis`), heatmap
 * rows top to bottom, numbers rounded to 4 significant digits to keep notebooks small. Needs no
 * network (no web fonts, maps or MathJax).
 */
export function toPlotly(fig: Figure): { data: object[]; layout: object } {
  checkFigure(fig);
  return renderPlotly(fig);
}

// ---------------------------------------------------------------------------------------------
// SVG

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Rounds a pixel coordinate to 0.1 px, enough for any screen. */
function px(v: number): number {
  return Math.round(v * 10) / 10;
}

function textEl(
  x: number,
  y: number,
  s: string,
  attrs: Record<string, string | number> = {},
): string {
  const extra = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? px(v) : escapeXml(v)}"`)
    .join('');
  return `<text x="${px(x)}" y="${px(y)}"${extra}>${escapeXml(s)}</text>`;
}

interface HeatmapGeometry {
  plot: Box;
  xLabels: string[];
  yLabels: string[];
  xTicks: number[];
  yTicks: number[];
  rotateX: boolean;
}

function ticksEvery(n: number, step: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k += step) out.push(k);
  return out;
}

/** Where a heatmap's cells go inside its cell of the grid, and which tick labels fit. */
function heatmapGeometry(p: HeatmapPanel, cell: Box): HeatmapGeometry {
  const rows = p.z.length;
  const cols = p.z[0].length;
  const xLabels = (p.xLabels ?? indexLabels(cols)).map(shorten);
  const yLabels = (p.yLabels ?? indexLabels(rows)).map(shorten);
  const maxX = Math.max(...xLabels.map((l) => l.length));
  const maxY = Math.max(...yLabels.map((l) => l.length));
  const top = cell.y + (p.title ? 22 : 8);
  const left = cell.x + 6 + (p.yTitle ? 16 : 0) + maxY * CHAR_PX + 6;
  const right = cell.x + cell.w - 52; // room for the colour bar and its labels
  const plotW = Math.max(10, right - left);
  const xLabelPx = maxX * CHAR_PX + 6;
  // Horizontal labels when they fit under their column, otherwise vertical ones.
  const rotateX = xLabelPx > plotW / cols;
  const xStep = rotateX ? labelStep(cols, plotW, 13) : 1;
  const bottomSpace = (rotateX ? xLabelPx + 4 : 16) + (p.xTitle ? 16 : 0) + 4;
  const plotH = Math.max(10, cell.y + cell.h - bottomSpace - top);
  const yStep = labelStep(rows, plotH, 13);
  return {
    plot: { x: left, y: top, w: plotW, h: plotH },
    xLabels,
    yLabels,
    xTicks: ticksEvery(cols, xStep),
    yTicks: ticksEvery(rows, yStep),
    rotateX,
  };
}

/** A vertical colour bar of `steps` rects (no gradient: ids would clash between outputs). */
function colourBarSvg(
  x: number,
  y: number,
  h: number,
  name: ColormapName,
  lo: number,
  hi: number,
): string {
  const steps = 16;
  const parts: string[] = [];
  for (let k = 0; k < steps; k++) {
    const [r, g, b] = colorAt(name, 1 - (k + 0.5) / steps);
    parts.push(
      `<rect x="${px(x)}" y="${px(y + (k * h) / steps)}" width="10" height="${px(h / steps + 0.5)}" ` +
        `fill="rgb(${r},${g},${b})"/>`,
    );
  }
  parts.push(textEl(x + 13, y + 4, formatMetric(round4(hi)), { 'font-size': 9 }));
  parts.push(
    textEl(x + 13, y + h / 2 + 3, formatMetric(round4((lo + hi) / 2)), { 'font-size': 9 }),
  );
  parts.push(textEl(x + 13, y + h, formatMetric(round4(lo)), { 'font-size': 9 }));
  return parts.join('');
}

function panelTitleSvg(title: string | undefined, cell: Box): string {
  return title
    ? textEl(cell.x + cell.w / 2, cell.y + 15, title, {
        'text-anchor': 'middle',
        'font-weight': 'bold',
      })
    : '';
}

/** The x title under the plot and the rotated y title left of it (heatmaps and line charts). */
function axisTitlesSvg(p: { xTitle?: string; yTitle?: string }, plot: Box, cell: Box): string {
  const parts: string[] = [];
  if (p.xTitle) {
    parts.push(
      textEl(plot.x + plot.w / 2, cell.y + cell.h - 6, p.xTitle, { 'text-anchor': 'middle' }),
    );
  }
  if (p.yTitle) {
    const x = cell.x + 12;
    const y = plot.y + plot.h / 2;
    parts.push(
      textEl(x, y, p.yTitle, {
        'text-anchor': 'middle',
        transform: `rotate(-90 ${px(x)} ${px(y)})`,
      }),
    );
  }
  return parts.join('');
}

function heatmapSvg(p: HeatmapPanel, cell: Box): string {
  const geo = heatmapGeometry(p, cell);
  const { plot } = geo;
  const rows = p.z.length;
  const cols = p.z[0].length;
  const name = p.colormap ?? 'viridis';
  const [lo, hi] = colourRange(p.z, p.zmin, p.zmax);
  const uri = crispPngUri(cols, rows, heatmapRgba(p.z, name, lo, hi));
  const parts = [panelTitleSvg(p.title, cell)];
  // One block per cell (crispPngUri): a few hundred bytes instead of a <rect> each.
  parts.push(
    `<image x="${px(plot.x)}" y="${px(plot.y)}" width="${px(plot.w)}" height="${px(plot.h)}" ` +
      `preserveAspectRatio="none" style="image-rendering:pixelated" href="${uri}"/>`,
  );
  const cw = plot.w / cols;
  const ch = plot.h / rows;
  for (const i of geo.yTicks) {
    parts.push(
      textEl(plot.x - 4, plot.y + (i + 0.5) * ch + 3.5, geo.yLabels[i], { 'text-anchor': 'end' }),
    );
  }
  const bottom = plot.y + plot.h;
  for (const j of geo.xTicks) {
    const x = plot.x + (j + 0.5) * cw;
    parts.push(
      geo.rotateX
        ? textEl(x + 3.5, bottom + 4, geo.xLabels[j], {
            'text-anchor': 'end',
            transform: `rotate(-90 ${px(x + 3.5)} ${px(bottom + 4)})`,
          })
        : textEl(x, bottom + 12, geo.xLabels[j], { 'text-anchor': 'middle' }),
    );
  }
  parts.push(axisTitlesSvg(p, plot, cell));
  parts.push(colourBarSvg(plot.x + plot.w + 8, plot.y, plot.h, name, lo, hi));
  return parts.join('');
}

/** Round tick values covering [lo, hi] at steps of 1, 2 or 5 times a power of ten. */
function niceTicks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(round4(Math.abs(t) < step * 1e-9 ? 0 : t));
  }
  return ticks;
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = Math.log10(m) + e;
      if (v >= lo - 1e-9 && v <= hi + 1e-9) ticks.push(v);
    }
  }
  // Within one decade show 1, 2, 5; across several, powers of ten are enough.
  const decades = ticks.filter((v) => Number.isInteger(round4(v)));
  return decades.length >= 2 ? decades : ticks;
}

function span(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(lo <= hi)) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}

/**
 * Thins a long polyline to at most a few points per pixel column (first, lowest, highest, last),
 * so a 10 000-step loss curve does not weigh 100 KB. Only for x in increasing order.
 */
function thin(points: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  let bucket: [number, number][] = [];
  const flush = (): void => {
    if (bucket.length === 0) return;
    const byY = [...bucket].sort((a, b) => a[1] - b[1]);
    const keep = new Set([bucket[0], byY[0], byY[byY.length - 1], bucket[bucket.length - 1]]);
    out.push(...bucket.filter((p) => keep.has(p)));
    bucket = [];
  };
  for (const p of points) {
    if (bucket.length > 0 && Math.floor(p[0]) !== Math.floor(bucket[0][0])) flush();
    bucket.push(p);
  }
  flush();
  return out;
}

/** Points along a drawn series (vertices, plus samples every ~8 px along lines), in screen units. */
function sampleAlong(seg: [number, number][], joined: boolean): [number, number][] {
  if (!joined || seg.length < 2) return seg;
  const out: [number, number][] = [];
  for (let i = 1; i < seg.length; i++) {
    const [ax, ay] = seg[i - 1];
    const [bx, by] = seg[i];
    const n = Math.min(50, Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / 8)));
    for (let t = 0; t < n; t++) out.push([ax + ((bx - ax) * t) / n, ay + ((by - ay) * t) / n]);
  }
  out.push(seg[seg.length - 1]);
  return out;
}

/**
 * The plot corner where a legend box of `w` x `h` hides the fewest data points (top right on a
 * tie), so a legend never sits on the curve a caption asks the reader to look at.
 */
function legendCorner(
  plot: Box,
  w: number,
  h: number,
  points: [number, number][],
): { x: number; y: number } {
  const left = plot.x + 4;
  const right = plot.x + plot.w - w - 4;
  const top = plot.y + 4;
  const bottom = plot.y + plot.h - h - 4;
  const corners = [
    { x: right, y: top },
    { x: left, y: top },
    { x: right, y: bottom },
    { x: left, y: bottom },
  ];
  const hidden = (c: { x: number; y: number }): number =>
    points.filter(([x, y]) => x >= c.x - 2 && x <= c.x + w + 2 && y >= c.y - 2 && y <= c.y + h + 2)
      .length;
  return corners.reduce((best, c) => (hidden(c) < hidden(best) ? c : best));
}

function linesSvg(p: LinesPanel, cell: Box, colours: Map<string, string>): string {
  const top = cell.y + (p.title ? 24 : 10);
  const left = cell.x + 50 + (p.yTitle ? 14 : 0);
  const right = cell.x + cell.w - 12;
  const bottom = cell.y + cell.h - 22 - (p.xTitle ? 16 : 0);
  const plot: Box = {
    x: left,
    y: top,
    w: Math.max(10, right - left),
    h: Math.max(10, bottom - top),
  };
  const drawable = (x: number, y: number): boolean =>
    Number.isFinite(x) && Number.isFinite(y) && (!p.logY || y > 0);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of p.series) {
    s.x.forEach((x, k) => {
      if (drawable(x, s.y[k])) {
        xs.push(x);
        ys.push(p.logY ? Math.log10(s.y[k]) : s.y[k]);
      }
    });
  }
  const [x0, x1] = span(xs);
  let [y0, y1] = span(ys);
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const sx = (x: number): number => plot.x + ((x - x0) / (x1 - x0)) * plot.w;
  const sy = (y: number): number => plot.y + plot.h - ((y - y0) / (y1 - y0)) * plot.h;

  const parts = [panelTitleSvg(p.title, cell)];
  const xTicks = niceTicks(x0, x1, Math.max(2, Math.floor(plot.w / 70)));
  const yTicks = p.logY
    ? logTicks(y0, y1)
    : niceTicks(y0, y1, Math.max(2, Math.floor(plot.h / 40)));
  for (const t of xTicks) {
    const x = px(sx(t));
    parts.push(`<path d="M${x} ${px(plot.y)}V${px(bottom)}" stroke="#eee"/>`);
    parts.push(textEl(x, bottom + 13, formatMetric(t), { 'text-anchor': 'middle' }));
  }
  for (const t of yTicks) {
    const y = px(sy(t));
    parts.push(`<path d="M${px(plot.x)} ${y}H${px(right)}" stroke="#eee"/>`);
    const label = p.logY ? formatMetric(round4(10 ** t)) : formatMetric(t);
    parts.push(textEl(plot.x - 4, y + 3.5, label, { 'text-anchor': 'end' }));
  }
  parts.push(
    `<path d="M${px(plot.x)} ${px(plot.y)}V${px(bottom)}H${px(right)}" stroke="#333" fill="none"/>`,
  );

  const thinEnough = plot.w * 4;
  const occupied: [number, number][] = []; // screen points the legend should not hide
  p.series.forEach((s) => {
    const color = colours.get(s.name) ?? PALETTE[0];
    const mode = s.mode ?? 'lines';
    const segments: [number, number][][] = [[]];
    s.x.forEach((x, i) => {
      if (drawable(x, s.y[i])) {
        segments[segments.length - 1].push([sx(x), sy(p.logY ? Math.log10(s.y[i]) : s.y[i])]);
      } else if (segments[segments.length - 1].length > 0) {
        segments.push([]); // a missing value breaks the line
      }
    });
    const increasing = s.x.every((x, i) => i === 0 || !(x < s.x[i - 1]));
    for (const seg of segments) {
      occupied.push(...sampleAlong(seg, mode !== 'markers'));
      if (mode !== 'markers' && seg.length >= 2) {
        const pts = increasing && seg.length > thinEnough ? thin(seg) : seg;
        parts.push(
          `<polyline points="${pts.map(([x, y]) => `${px(x)},${px(y)}`).join(' ')}" ` +
            `fill="none" stroke="${color}" stroke-width="1.5"/>`,
        );
      }
      if (mode !== 'lines' || seg.length === 1) {
        for (const [x, y] of seg) {
          parts.push(`<circle cx="${px(x)}" cy="${px(y)}" r="2.5" fill="${color}"/>`);
        }
      }
    }
  });

  if (p.series.length > 1) {
    const names = p.series.map((s) => shorten(s.name));
    const lw = Math.max(...names.map((n) => n.length)) * CHAR_PX + 30;
    const lh = names.length * 14 + 6;
    const { x: lx, y: ly } = legendCorner(plot, lw, lh, occupied);
    parts.push(
      `<rect x="${px(lx)}" y="${px(ly)}" width="${px(lw)}" height="${lh}" ` +
        `fill="#fff" fill-opacity="0.85" stroke="#ccc"/>`,
    );
    names.forEach((n, k) => {
      const y = ly + 12 + k * 14;
      const color = colours.get(p.series[k].name) ?? PALETTE[0];
      // The legend glyph matches how the series is drawn: a dot for markers, a line otherwise.
      parts.push(
        p.series[k].mode === 'markers'
          ? `<circle cx="${px(lx + 13)}" cy="${px(y - 3.5)}" r="2.5" fill="${color}"/>`
          : `<path d="M${px(lx + 5)} ${px(y - 3.5)}h16" stroke="${color}" stroke-width="2"/>`,
      );
      parts.push(textEl(lx + 25, y, n));
    });
  }
  parts.push(axisTitlesSvg(p, plot, cell));
  return parts.join('');
}

function imageSvg(p: ImagePanel, cell: Box): string {
  const img = imageUri(p);
  const top = cell.y + (p.title ? 22 : 8);
  const area: Box = {
    x: cell.x + 8,
    y: top,
    w: Math.max(10, cell.w - 16 - (p.overlay ? 46 : 0)),
    h: Math.max(10, cell.y + cell.h - 8 - top),
  };
  // Keep pixels square: fit the image into the area and centre it.
  const scale = Math.min(area.w / img.w, area.h / img.h);
  const w = img.w * scale;
  const h = img.h * scale;
  const x = area.x + (area.w - w) / 2;
  const y = area.y + (area.h - h) / 2;
  const at = `x="${px(x)}" y="${px(y)}" width="${px(w)}" height="${px(h)}"`;
  const parts = [panelTitleSvg(p.title, cell)];
  parts.push(`<image ${at} style="image-rendering:pixelated" href="${img.uri}"/>`);
  if (p.overlay) {
    const z = p.overlay.z;
    const name = p.overlay.colormap ?? 'viridis';
    const [lo, hi] = colourRange(z);
    const uri = crispPngUri(z[0].length, z.length, heatmapRgba(z, name, lo, hi));
    parts.push(
      `<image ${at} preserveAspectRatio="none" opacity="${p.overlay.opacity ?? 0.5}" ` +
        `style="image-rendering:pixelated" href="${uri}"/>`,
    );
    parts.push(colourBarSvg(x + w + 8, y, h, name, lo, hi));
  }
  return parts.join('');
}

function renderSvg(fig: Figure): string {
  const g = gridOf(fig);
  const W = Math.round(g.width);
  const H = Math.round(g.height);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ` +
      `font-family="sans-serif" font-size="${FONT_SIZE}" style="max-width:100%;height:auto">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
  ];
  if (fig.title) {
    parts.push(
      textEl(W / 2, 20, fig.title, {
        'text-anchor': 'middle',
        'font-size': 14,
        'font-weight': 'bold',
      }),
    );
  }
  const colours = seriesColours(fig);
  fig.panels.forEach((p, i) => {
    const cell: Box = {
      x: (i % g.columns) * g.cellW,
      y: g.titleH + Math.floor(i / g.columns) * g.cellH,
      w: g.cellW,
      h: g.cellH,
    };
    parts.push(
      p.kind === 'heatmap'
        ? heatmapSvg(p, cell)
        : p.kind === 'lines'
          ? linesSvg(p, cell, colours)
          : imageSvg(p, cell),
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/**
 * A standalone static SVG of `fig` (`<svg xmlns=... viewBox=...>`): heatmaps as one pixelated PNG
 * `<image>` each with thinned tick labels and a small colour bar, line charts as `<polyline>` and
 * `<circle>` with axes, ticks and a legend. No script, no external resources; text is escaped.
 */
export function toSvg(fig: Figure): string {
  checkFigure(fig);
  return renderSvg(fig);
}

// ---------------------------------------------------------------------------------------------
// Bundles

function describePanel(p: Panel): string {
  if (p.kind === 'heatmap') {
    const missing = countNonFinite(p.z);
    return `heatmap ${p.z.length}x${p.z[0].length}${missing ? `, ${missing} non-finite` : ''}`;
  }
  if (p.kind === 'lines') {
    const names = p.series.map((s) => s.name);
    return names.length <= 3 ? `lines: ${names.join(', ')}` : `lines (${names.length} series)`;
  }
  const [h, w] = imageDims(p.pixels, 'image');
  return `image ${h}x${w}${p.overlay ? ' with overlay' : ''}`;
}

/** A one-line description: `Figure: attention weights (heatmap 5x7)`. */
function describeFigure(fig: Figure): string {
  const groups: { text: string; n: number }[] = [];
  for (const p of fig.panels) {
    const text = describePanel(p);
    const last = groups[groups.length - 1];
    if (last && last.text === text) last.n++;
    else groups.push({ text, n: 1 });
  }
  const parts = groups.map((gr) => (gr.n > 1 ? `${gr.n} x ${gr.text}` : gr.text)).join('; ');
  const title = fig.title ?? (fig.panels.length === 1 ? fig.panels[0].title : undefined);
  return `Figure${title ? `: ${title}` : ''} (${parts})`;
}

/**
 * The mime bundle for `fig`: plotly JSON for interactive front ends, `<div class="ah-figure">`
 * with the static SVG as the HTML fallback, and a one-line `text/plain` description.
 */
export function figureBundle(fig: Figure): MimeBundle {
  checkFigure(fig);
  return {
    [PLOTLY_TYPE]: renderPlotly(fig),
    'text/html': `<div class="ah-figure">${renderSvg(fig)}</div>`,
    'text/plain': describeFigure(fig),
  };
}

/**
 * A figure whose panels may themselves be figures (what `attentionHeatmap`, `lineChart`, ...
 * return): `{ title, panels: [ah.attentionHeatmap(a), ah.lineChart(b)], columns: 2 }`.
 */
export interface FigureLayout extends Omit<Figure, 'panels'> {
  panels: (Panel | Figure)[];
}

function isFigure(x: unknown): x is Figure | FigureLayout {
  return x !== null && typeof x === 'object' && Array.isArray((x as Figure).panels);
}

/** The panels of `item`; a one-panel figure's title becomes its panel's title if it has none. */
function panelsOf(item: Panel | Figure, where: string): Panel[] {
  if (!isFigure(item)) return [item];
  if (item.panels.length === 1 && item.title && !item.panels[0].title) {
    return [{ ...item.panels[0], title: item.title }];
  }
  if (item.panels.some(isFigure)) {
    throw new Error(`${where}: expected panels or figures of panels, got a figure of figures`);
  }
  return item.panels;
}

/**
 * One `Figure` from a layout whose panels may be figures: their panels are put in the grid in
 * order. Several figures side by side: `composeFigure({ panels: [figA, figB], columns: 2 })`.
 */
export function composeFigure(layout: FigureLayout): Figure {
  if (!isFigure(layout)) {
    throw new TypeError(`layout: expected an object with panels, got ${describeValue(layout)}`);
  }
  const panels = layout.panels.flatMap((p, i) => {
    if (p === null || typeof p !== 'object') {
      throw new TypeError(
        `layout.panels[${i}]: expected a panel or a figure, got ${describeValue(p)}`,
      );
    }
    return panelsOf(p, `layout.panels[${i}]`);
  });
  const fig: Figure = { ...layout, panels };
  checkFigure(fig);
  return fig;
}

/**
 * Shows a figure as a cell output (see `figureBundle`); in a terminal prints its description.
 * Its panels may be figures (see `composeFigure`), and several figures given at once are laid
 * out side by side in one figure: `showFigure(ah.attentionHeatmap(a), ah.attentionHeatmap(b))`.
 */
export function showFigure(fig: Figure | FigureLayout, ...more: (Figure | FigureLayout)[]): void {
  const layout: FigureLayout =
    more.length === 0 ? fig : { panels: [fig, ...more].map(composeFigure) };
  display(figureBundle(composeFigure(layout)));
}
