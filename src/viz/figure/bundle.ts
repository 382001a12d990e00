/** Figures as notebook outputs: the mime bundle, composition of figures, `showFigure`. */
import { display, type MimeBundle } from '../display';
import { describeValue } from '../../core/describe';
import { checkFigure, imageDims } from './checks';
import { renderPlotly } from './plotly';
import { countNonFinite } from './shared';
import { renderSvg } from './svg';
import type { Figure, FigureLayout, Panel } from './types';

const PLOTLY_TYPE = 'application/vnd.plotly.v1+json';

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
