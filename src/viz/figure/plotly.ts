/**
 * The plotly renderer: one trace per heatmap / line series / image, subplots placed in pixels
 * so that labels, titles and colour bars get the room they need. Mirrors `svg.ts` per panel kind.
 */
import { colorscaleFor, type ColormapName } from '../colormap';
import { formatMetric, round4 } from '../format';
import { checkFigure } from './checks';
import {
  CHAR_PX,
  FONT_SIZE,
  PALETTE,
  colourRange,
  gridOf,
  heatmapGeometry,
  imageUri,
  labelStep,
  logTicks,
  niceTicks,
  seriesColours,
  shorten,
  span,
  ticksEvery,
  type Box,
} from './shared';
import type { Figure, HeatmapPanel, ImagePanel, LinesPanel, Panel } from './types';

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
    // unrotated labels: one line of text plus the 6 px `ticklabelstandoff` set below
    const xTicksPx = geo.rotateX ? labelsPx(geo.xLabels) + 8 : 24;
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

/** Names that get a legend entry: series of panels with more than one series, each name once. */
function legendNames(fig: Figure): string[] {
  const names: string[] = [];
  for (const p of fig.panels) {
    if (p.kind !== 'lines' || p.series.length < 2) continue;
    for (const s of p.series) if (!names.includes(s.name)) names.push(s.name);
  }
  return names;
}

/** What a panel renderer fills in: its traces, its two axes, and where its plot area is. */
interface PanelContext {
  ax: { x: string; y: string; xKey: string; yKey: string };
  xaxis: Record<string, unknown>;
  yaxis: Record<string, unknown>;
  data: object[];
  /** The colour bar right of this panel (when the figure has no shared scale). */
  colorbar: object;
  /** The plot area in pixels (only its size matters). */
  plot: Box;
}

/** A heatmap trace with label ticks, row 0 on top (mirrors `heatmapSvg`). */
function heatmapPlotly(p: HeatmapPanel, ctx: PanelContext, cell: Box, shared: boolean): void {
  const { ax, xaxis, yaxis, data, colorbar } = ctx;
  const plotBox = ctx.plot;
  const [lo, hi] = colourRange(p.z, p.zmin, p.zmax);
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
  // A tick at the bottom-left corner on both axes (a flat series spans [v - 1, v + 1] from a
  // first step 0) would put the x label on the y label: move x labels a few pixels down.
  xaxis.ticklabelstandoff = 6;
  if (p.xTitle) xaxis.title = { text: plotlyText(p.xTitle), standoff: 4 };
  if (p.yTitle) yaxis.title = { text: plotlyText(p.yTitle), standoff: 4 };
}

/** One scatter trace per series, each name once on the legend (mirrors `linesSvg`). */
function linesPlotly(
  p: LinesPanel,
  ctx: PanelContext,
  colours: Map<string, string>,
  legend: string[],
  onLegend: Set<string>,
): void {
  const { ax, xaxis, yaxis, data } = ctx;
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
  // A tick at the bottom-left corner on both axes (a flat series spans [v - 1, v + 1] from a
  // first step 0) would put the x label on the y label: move x labels a few pixels down.
  xaxis.ticklabelstandoff = 6;
  if (p.xTitle) xaxis.title = { text: plotlyText(p.xTitle), standoff: 4 };
  if (p.yTitle) yaxis.title = { text: plotlyText(p.yTitle), standoff: 4 };
}

/** The image's PNG spread over exactly [-0.5, w - 0.5], plus any overlay (mirrors `imageSvg`). */
function imagePlotly(p: ImagePanel, ctx: PanelContext): void {
  const { ax, xaxis, yaxis, data, colorbar } = ctx;
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

export function renderPlotly(fig: Figure): { data: object[]; layout: Record<string, unknown> } {
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

    const plot = { x: 0, y: 0, w: right - left, h: bottom - top };
    const ctx: PanelContext = { ax, xaxis, yaxis, data, colorbar, plot };
    if (p.kind === 'heatmap') heatmapPlotly(p, ctx, cell, shared !== null);
    else if (p.kind === 'lines') linesPlotly(p, ctx, colours, legend, onLegend);
    else imagePlotly(p, ctx);
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
