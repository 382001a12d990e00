/**
 * What both renderers share, so that the plotly figure and its SVG fallback agree: the grid,
 * colour ranges, label thinning, tick values, series colours and the PNG encoding of cells.
 */
import { colorAt, type ColormapName, type Rgb } from '../colormap';
import { formatMetric, round4 } from '../format';
import { pngDataUri } from '../png';
import { imageDims } from './checks';
import type { Figure, HeatmapPanel, ImagePanel } from './types';

/** Series colours, shared by both renderers. */
export const PALETTE = [
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
export const MISSING: Rgb = [200, 200, 200];

export const FONT_SIZE = 11;
/** Rough width of one character at FONT_SIZE, for layout without measuring text. */
export const CHAR_PX = 6.2;
/** Labels longer than this are shortened with an ellipsis. */
export const MAX_LABEL_CHARS = 12;

export interface Grid {
  columns: number;
  rows: number;
  width: number;
  height: number;
  /** Height of the figure title band (SVG pixels). */
  titleH: number;
  cellW: number;
  cellH: number;
}

export function gridOf(fig: Figure): Grid {
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
export function finiteRange(z: number[][]): [number, number] | null {
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
export function colourRange(z: number[][], zmin?: number, zmax?: number): [number, number] {
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

export function countNonFinite(z: number[][]): number {
  let n = 0;
  for (const row of z) for (const v of row) if (!Number.isFinite(v)) n++;
  return n;
}

/** Every `step`-th index so that at most `available / perLabel` labels are shown. */
export function labelStep(count: number, availablePx: number, perLabelPx: number): number {
  const fits = Math.max(1, Math.floor(availablePx / perLabelPx));
  return Math.max(1, Math.ceil(count / fits));
}

export function shorten(label: string): string {
  return label.length > MAX_LABEL_CHARS ? `${label.slice(0, MAX_LABEL_CHARS - 1)}…` : label;
}

export function indexLabels(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i));
}

/** RGBA bytes of a matrix through a colour map; non-finite cells get the missing colour. */
export function heatmapRgba(z: number[][], name: ColormapName, lo: number, hi: number): Uint8Array {
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

export function imageRgba(pixels: number[][] | number[][][], h: number, w: number): Uint8Array {
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
export function crispScale(w: number, h: number): number {
  return Math.max(1, Math.min(32, Math.floor(256 / Math.max(w, h))));
}

export function crispPngUri(w: number, h: number, rgba: Uint8Array): string {
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
export function imageUri(p: ImagePanel): { uri: string; h: number; w: number; k: number } {
  const [h, w] = imageDims(p.pixels, 'image');
  return { uri: crispPngUri(w, h, imageRgba(p.pixels, h, w)), h, w, k: crispScale(w, h) };
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function ticksEvery(n: number, step: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k += step) out.push(k);
  return out;
}

export interface HeatmapGeometry {
  plot: Box;
  xLabels: string[];
  yLabels: string[];
  xTicks: number[];
  yTicks: number[];
  rotateX: boolean;
}

/** The labels of a colour bar over [lo, hi]: top, middle, bottom. */
export function colourBarLabels([lo, hi]: [number, number]): string[] {
  return [hi, (lo + hi) / 2, lo].map((v) => formatMetric(round4(v)));
}

/** Width of an SVG colour bar with its labels, from the plot's edge to the labels' end. */
export function colourBarPx(range: [number, number]): number {
  return 8 + 13 + Math.max(...colourBarLabels(range).map((l) => l.length)) * 5.6 + 6;
}

/** Where a heatmap's cells go inside its cell of the grid, and which tick labels fit. */
export function heatmapGeometry(p: HeatmapPanel, cell: Box): HeatmapGeometry {
  const rows = p.z.length;
  const cols = p.z[0].length;
  const xLabels = (p.xLabels ?? indexLabels(cols)).map(shorten);
  const yLabels = (p.yLabels ?? indexLabels(rows)).map(shorten);
  const maxX = Math.max(...xLabels.map((l) => l.length));
  const maxY = Math.max(...yLabels.map((l) => l.length));
  const top = cell.y + (p.title ? 22 : 8);
  const left = cell.x + 6 + (p.yTitle ? 16 : 0) + maxY * CHAR_PX + 6;
  // Room for the colour bar (8 px gap, 10 px bar, 3 px) and its widest label (font 9).
  const right = cell.x + cell.w - colourBarPx(colourRange(p.z, p.zmin, p.zmax));
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

/** Round tick values covering [lo, hi] at steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(round4(Math.abs(t) < step * 1e-9 ? 0 : t));
  }
  return ticks;
}

export function logTicks(lo: number, hi: number): number[] {
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

export function span(values: number[]): [number, number] {
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
 * Colours of line series by name, in order of first appearance in the figure, so that a series
 * keeps its colour (and its single legend entry) in every panel it appears in.
 */
export function seriesColours(fig: Figure): Map<string, string> {
  const colours = new Map<string, string>();
  for (const p of fig.panels) {
    if (p.kind !== 'lines') continue;
    for (const s of p.series) {
      if (!colours.has(s.name)) colours.set(s.name, PALETTE[colours.size % PALETTE.length]);
    }
  }
  return colours;
}
