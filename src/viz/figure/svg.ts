/** The static SVG renderer (no script, no network). Mirrors `plotly.ts` per panel kind. */
import { colorAt, type ColormapName } from '../colormap';
import { escapeXml, formatMetric, round4 } from '../format';
import { checkFigure } from './checks';
import {
  CHAR_PX,
  FONT_SIZE,
  PALETTE,
  colourBarLabels,
  colourBarPx,
  colourRange,
  crispPngUri,
  gridOf,
  heatmapGeometry,
  heatmapRgba,
  imageUri,
  logTicks,
  niceTicks,
  seriesColours,
  shorten,
  span,
  type Box,
} from './shared';
import type { Figure, HeatmapPanel, ImagePanel, LinesPanel } from './types';

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
  const [top, mid, bottom] = colourBarLabels([lo, hi]);
  parts.push(textEl(x + 13, y + 4, top, { 'font-size': 9 }));
  parts.push(textEl(x + 13, y + h / 2 + 3, mid, { 'font-size': 9 }));
  parts.push(textEl(x + 13, y + h, bottom, { 'font-size': 9 }));
  return parts.join('');
}

/** A panel title on one line: shortened with an ellipsis when wider than its cell (bold, 11 px). */
function panelTitleSvg(title: string | undefined, cell: Box): string {
  const fits = Math.max(4, Math.floor((cell.w - 8) / 6.6));
  const text = title && title.length > fits ? `${title.slice(0, fits - 1)}…` : title;
  return text
    ? textEl(cell.x + cell.w / 2, cell.y + 15, text, {
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
  const xTicks = niceTicks(x0, x1, Math.max(3, Math.floor(plot.w / 60)));
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
    w: Math.max(10, cell.w - 16 - (p.overlay ? colourBarPx(colourRange(p.overlay.z)) : 0)),
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

export function renderSvg(fig: Figure): string {
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
