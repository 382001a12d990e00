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
export type {
  Figure,
  FigureLayout,
  HeatmapPanel,
  ImagePanel,
  LineMode,
  LineSeries,
  LinesPanel,
  Panel,
} from './types';
export { checkFigure } from './checks';
export { toPlotly } from './plotly';
export { toSvg } from './svg';
export { composeFigure, figureBundle, showFigure } from './bundle';
