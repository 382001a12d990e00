/**
 * Ready-made figures for the chapters. Each returns a `Figure` (so tests and readers can inspect
 * it); notebooks show one with `showFigure(attentionHeatmap(weights, { queries, keys }))`.
 *
 * Inputs may be tensors or plain arrays. Tensors are read with `arraySync`, which creates no new
 * tensors, so nothing needs disposing and nothing leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInt, checkShape, formatShape, type DimSpec } from '../core/shapes';
import type { ColormapName } from './colormap';
import {
  checkFigure,
  type Figure,
  type HeatmapPanel,
  type LineMode,
  type LineSeries,
} from './figure';
import { describeValue } from '../core/describe';

/**
 * The shape of a nested array of numbers, checked to be rectangular with no empty axis. Errors
 * name the argument, the expected tag and where the nesting goes wrong.
 */
function nestedShape(x: unknown, name: string, tag: string): number[] {
  const shape: number[] = [];
  let probe: unknown = x;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  if (shape.length === 0 || shape.includes(0)) {
    throw new TypeError(
      `${name}: expected a tf.Tensor or non-empty nested arrays ${tag}, got ${describeValue(x)}`,
    );
  }
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number') {
        throw new TypeError(
          `${name}: expected numbers ${tag}, got ${describeValue(v)} at ${name}${path}`,
        );
      }
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new Error(
        `${name}: expected a rectangular array ${tag} of shape ${formatShape(shape)}, got ` +
          `${describeValue(v)} at ${name}${path}`,
      );
    }
    v.forEach((item, i) => walk(item, depth + 1, `${path}[${i}]`));
  };
  walk(x, 0, '');
  return shape;
}

/** Reads a tensor or nested array whose rank is one of `specs` (glossary letters per axis). */
function readInput(
  x: unknown,
  specs: readonly (readonly DimSpec[])[],
  name: string,
): { values: unknown; shape: number[] } {
  const tags = specs.map((s) => `[${s.map((d) => d ?? '?').join(', ')}]`);
  const tag = tags.join(' or ');
  if (x instanceof tf.Tensor) {
    const spec = specs.find((s) => s.length === x.rank);
    if (!spec) {
      throw new Error(`${name}: expected shape ${tag}, got ${formatShape(x.shape)}`);
    }
    checkShape(x, spec, name);
    return { values: x.arraySync(), shape: x.shape.slice() };
  }
  const shape = nestedShape(x, name, tag);
  if (!specs.some((s) => s.length === shape.length)) {
    throw new Error(`${name}: expected shape ${tag}, got ${formatShape(shape)}`);
  }
  return { values: x, shape };
}

function checkLabelCount(labels: unknown, count: number, name: string, what: string): void {
  if (labels === undefined) return;
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) {
    throw new TypeError(`${name}: expected an array of strings, got ${describeValue(labels)}`);
  }
  if (labels.length !== count) {
    throw new Error(`${name}: expected ${count} labels (${what}), got ${labels.length}`);
  }
}

/** Options of `attentionHeatmap`. */
export interface AttentionHeatmapOptions {
  /** One label per query (row), e.g. target tokens. */
  queries?: string[];
  /** One label per key (column), e.g. source tokens. */
  keys?: string[];
  title?: string;
  /** Defaults to `'keys'`. */
  xTitle?: string;
  /** Defaults to `'queries'`. */
  yTitle?: string;
  /** Which batch element of a [B, T, S] input to show. Defaults to 0. */
  batchIndex?: number;
  /** Colour range; defaults to [0, 1], the range of attention weights. */
  zmin?: number;
  zmax?: number;
  colormap?: ColormapName;
}

/**
 * Picks batch element `batchIndex` of a [B, ...] input, or checks that an input without a batch
 * axis was not given one.
 */
function pickBatch<T>(
  values: unknown,
  shape: number[],
  rank: number,
  batchIndex: number | undefined,
  expected: string,
): T {
  if (shape.length === rank + 1) {
    const b = checkInt(batchIndex ?? 0, 'batchIndex', 0, shape[0] - 1);
    return (values as T[])[b];
  }
  if (batchIndex !== undefined && batchIndex !== 0) {
    throw new RangeError(
      `batchIndex: weights ${formatShape(shape)} have no batch axis (expected ${expected}), ` +
        `got batchIndex ${batchIndex}`,
    );
  }
  return values as T;
}

/**
 * Attention weights [T, S] as a heatmap: one row per query, one column per key, row 0 on top,
 * colours on a fixed 0..1 scale so that figures can be compared with each other. Weights
 * [B, T, S] (what the attention layers return) show batch element `batchIndex` (default 0).
 */
export function attentionHeatmap(
  weights: tf.Tensor | number[][] | number[][][],
  opts: AttentionHeatmapOptions = {},
): Figure {
  const { values, shape } = readInput(
    weights,
    [
      ['T', 'S'],
      ['B', 'T', 'S'],
    ],
    'weights',
  );
  const z = pickBatch<number[][]>(values, shape, 2, opts.batchIndex, '[B, T, S]');
  const [T, S] = shape.slice(-2);
  checkLabelCount(opts.queries, T, 'queries', 'T, one per row of weights');
  checkLabelCount(opts.keys, S, 'keys', 'S, one per column of weights');
  const fig: Figure = {
    panels: [
      {
        kind: 'heatmap',
        z,
        xLabels: opts.keys,
        yLabels: opts.queries,
        zmin: opts.zmin ?? 0,
        zmax: opts.zmax ?? 1,
        colormap: opts.colormap,
        title: opts.title,
        xTitle: opts.xTitle ?? 'keys',
        yTitle: opts.yTitle ?? 'queries',
      },
    ],
  };
  checkFigure(fig);
  return fig;
}

/** One series of `lineChart`: x defaults to 0, 1, ..., n - 1. */
export interface LineChartSeries {
  name: string;
  x?: ArrayLike<number>;
  y: ArrayLike<number>;
  mode?: LineMode;
}

/** Options of `lineChart`. */
export interface LineChartOptions {
  title?: string;
  /** Defaults to `'step'`. */
  xTitle?: string;
  yTitle?: string;
  logY?: boolean;
}

/**
 * Curves such as losses and accuracies: `lineChart({ train: losses, val: valLosses })` or
 * `lineChart([{ name: 'val', x: epochs, y: valLosses }])`. Typed arrays (from `dataSync`) work.
 */
export function lineChart(
  series: Record<string, ArrayLike<number>> | LineChartSeries[],
  opts: LineChartOptions = {},
): Figure {
  if (series === null || typeof series !== 'object') {
    throw new TypeError(
      `series: expected an object of arrays or an array of series, got ${describeValue(series)}`,
    );
  }
  const list: LineChartSeries[] = Array.isArray(series)
    ? series
    : Object.entries(series).map(([name, y]) => ({ name, y }));
  const out: LineSeries[] = list.map((s, k) => {
    if (
      s === null ||
      typeof s !== 'object' ||
      s.y === undefined ||
      typeof s.y.length !== 'number'
    ) {
      throw new TypeError(`series ${k}: expected { name, x?, y } with y an array of numbers`);
    }
    const y = Array.from(s.y);
    const x = s.x === undefined ? y.map((_, i) => i) : Array.from(s.x);
    return { name: s.name, x, y, ...(s.mode ? { mode: s.mode } : {}) };
  });
  const fig: Figure = {
    panels: [
      {
        kind: 'lines',
        series: out,
        title: opts.title,
        xTitle: opts.xTitle ?? 'step',
        yTitle: opts.yTitle,
        logY: opts.logY,
      },
    ],
  };
  checkFigure(fig);
  return fig;
}

/** Options of `headGrid`. */
export interface HeadGridOptions {
  queries?: string[];
  keys?: string[];
  title?: string;
  /** Grid columns; defaults to min(H, 4). */
  columns?: number;
  /** Which batch element of a [B, H, T, S] input to show. Defaults to 0. */
  batchIndex?: number;
  /** Shared colour range of all heads; defaults to [0, 1]. */
  zmin?: number;
  zmax?: number;
  colormap?: ColormapName;
}

/**
 * One heatmap per attention head ('head 1', 'head 2', ...) on a shared colour scale, from weights
 * [H, T, S] or [B, H, T, S] (showing batch element `batchIndex`).
 */
export function headGrid(
  weights: tf.Tensor | number[][][] | number[][][][],
  opts: HeadGridOptions = {},
): Figure {
  const { values, shape } = readInput(
    weights,
    [
      ['H', 'T', 'S'],
      ['B', 'H', 'T', 'S'],
    ],
    'weights',
  );
  const heads = pickBatch<number[][][]>(values, shape, 3, opts.batchIndex, '[B, H, T, S]');
  const [H, T, S] = shape.slice(-3);
  checkLabelCount(opts.queries, T, 'queries', 'T, one per query row');
  checkLabelCount(opts.keys, S, 'keys', 'S, one per key column');
  const panels: HeatmapPanel[] = heads.map((z, h) => ({
    kind: 'heatmap',
    z,
    xLabels: opts.keys,
    yLabels: opts.queries,
    zmin: opts.zmin ?? 0,
    zmax: opts.zmax ?? 1,
    colormap: opts.colormap,
    title: `head ${h + 1}`,
  }));
  const fig: Figure = { title: opts.title, panels, columns: opts.columns ?? Math.min(H, 4) };
  checkFigure(fig);
  return fig;
}

/**
 * Stretches a [h, w] matrix to [rows, cols] by nearest neighbour: output cell (i, j) copies input
 * cell (floor((i + 0.5) h / rows), floor((j + 0.5) w / cols)), the one under its centre. When
 * rows is a multiple of h this repeats each value over a block of rows / h.
 */
export function upsampleNearest(z: number[][], rows: number, cols: number): number[][] {
  const shape = nestedShape(z, 'z', '[h, w]');
  if (shape.length !== 2) throw new Error(`z: expected shape [h, w], got ${formatShape(shape)}`);
  const [h, w] = shape;
  checkInt(rows, 'rows', 1);
  checkInt(cols, 'cols', 1);
  const src = (i: number, n: number, size: number): number =>
    Math.min(n - 1, Math.floor(((i + 0.5) * n) / size));
  return Array.from({ length: rows }, (_, i) => {
    const row = z[src(i, h, rows)];
    return Array.from({ length: cols }, (_, j) => row[src(j, w, cols)]);
  });
}

/** Options of `imageOverlay`. */
export interface ImageOverlayOptions {
  /** Opacity of the attention overlay, in [0, 1]. Defaults to 0.5. */
  opacity?: number;
  title?: string;
  colormap?: ColormapName;
}

/**
 * An image with attention on top, e.g. a vision transformer's attention over its patch grid.
 *
 * `image` is [Hi, Wi] (grey), [Hi, Wi, 1] or [Hi, Wi, 3] (RGB) with values in [0, 1]; if any
 * value is above 1 the image is taken to be 0..255 and divided by 255. `attention` [Gh, Gw] (the
 * patch grid) is upsampled by nearest neighbour to [Hi, Wi], so each patch covers its block of
 * pixels; its colours span its own min..max (attention over many patches is small everywhere, a
 * fixed 0..1 scale would hide it).
 */
export function imageOverlay(
  image: tf.Tensor | number[][] | number[][][],
  attention: tf.Tensor | number[][],
  opts: ImageOverlayOptions = {},
): Figure {
  const img = readInput(
    image,
    [
      ['Hi', 'Wi'],
      ['Hi', 'Wi', 'C'],
    ],
    'image',
  );
  const [height, width] = img.shape;
  const channels = img.shape.length === 3 ? img.shape[2] : 1;
  if (channels !== 1 && channels !== 3) {
    throw new Error(
      `image: expected 1 or 3 channels in [Hi, Wi, C], got ${formatShape(img.shape)}`,
    );
  }
  const att = readInput(attention, [['Gh', 'Gw']], 'attention');
  const opacity = opts.opacity ?? 0.5;
  if (typeof opacity !== 'number' || !(opacity >= 0 && opacity <= 1)) {
    throw new RangeError(`opacity: expected a number in [0, 1], got ${String(opacity)}`);
  }
  const flat = (img.values as unknown[]).flat(2) as number[];
  const max = flat.reduce((m, v) => (v > m ? v : m), -Infinity);
  const scale = max > 1 ? 1 / 255 : 1;
  const rows = img.values as number[][] | number[][][];
  const pixels =
    channels === 1
      ? rows.map((r) => r.map((p) => (Array.isArray(p) ? p[0] : p) * scale))
      : (rows as number[][][]).map((r) => r.map((p) => p.map((v) => v * scale)));
  const fig: Figure = {
    panels: [
      {
        kind: 'image',
        pixels,
        overlay: {
          z: upsampleNearest(att.values as number[][], height, width),
          opacity,
          colormap: opts.colormap,
        },
        title: opts.title,
      },
    ],
  };
  checkFigure(fig);
  return fig;
}
