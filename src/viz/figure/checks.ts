/** Validation of figures: messages name the panel, what was expected and what was found. */
import { checkColormap } from '../colormap';
import type { Figure, HeatmapPanel, ImagePanel, LinesPanel, Panel } from './types';
import { describeValue } from '../../core/describe';

/** Checks that `m` is a non-empty rectangular matrix of numbers and returns [rows, cols]. */
export function checkMatrix(
  m: unknown,
  where: string,
  name: string,
  finite: boolean,
): [number, number] {
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

export function checkLabels(
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

export function checkOptionalNumber(v: unknown, where: string, name: string): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) {
    throw new Error(`${where}: expected ${name} to be a finite number, got ${describeValue(v)}`);
  }
}

/** Dimensions of image pixels: [Hi, Wi, channels] with channels 1 (grey) or 3 (RGB). */
export function imageDims(pixels: unknown, where: string): [number, number, 1 | 3] {
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

export function checkPanel(p: Panel, i: number): void {
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
