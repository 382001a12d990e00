/** The figure model: a grid of typed panels, rendered by `plotly.ts` and `svg.ts`. */
import type { ColormapName } from '../colormap';

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
  /** [Hi, Wi] grey levels or [Hi, Wi, 3] RGB, values in [0, 1] (clamped). */
  pixels: number[][] | number[][][];
  /**
   * Drawn over the whole image; a [Gh, Gw] overlay is stretched to [Hi, Wi] (nearest neighbour). Its
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

/**
 * A figure whose panels may themselves be figures (what `attentionHeatmap`, `lineChart`, ...
 * return): `{ title, panels: [ah.attentionHeatmap(a), ah.lineChart(b)], columns: 2 }`.
 */
export interface FigureLayout extends Omit<Figure, 'panels'> {
  panels: (Panel | Figure)[];
}
