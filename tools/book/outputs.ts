/**
 * Cell outputs as HTML, the way Jupyter front ends choose them: of each output's mime bundle the
 * richest type the book can show wins (an interactive plotly figure over its static SVG fallback,
 * HTML over plain text). Streams keep their text; stderr and errors are styled as such.
 */
import { joinSource, type Output } from '../notebooks/nbformat';
import { escapeHtml, renderTex } from './markdown';
import type { Markdown, RenderEnv } from './markdown';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** Mime types the book renders, richest first. */
export const MIME_ORDER = [
  PLOTLY_MIME,
  'text/html',
  'image/svg+xml',
  'image/png',
  'image/jpeg',
  'image/gif',
  'text/markdown',
  'text/latex',
  'application/json',
  'text/plain',
] as const;

/** Per page: numbers plotly figures so each gets a unique element id. */
export interface OutputContext {
  md: Markdown;
  env: RenderEnv;
  /** Incremented for every plotly figure on the page. */
  figures: number;
}

/** Strips ANSI colour codes (tslab and Node print them in errors). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

/**
 * JSON for an inline `<script type="application/json">`: `<` is escaped so that no string in the
 * data can close the script element, and U+2028/9 so the text stays valid everywhere.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Validates a plotly mime payload: `{ data: [...], layout?: {...} }`. */
function plotlyPayload(
  value: unknown,
): { data: unknown[]; layout: Record<string, unknown> } | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (!Array.isArray(v.data)) return null;
  const layout =
    v.layout && typeof v.layout === 'object' ? (v.layout as Record<string, unknown>) : {};
  return { data: v.data, layout };
}

/**
 * An interactive figure: a container the page script fills with plotly, holding the static
 * fallback (our SVG) until then, and the figure's JSON beside it.
 */
function plotlyFigure(
  payload: unknown,
  fallbackHtml: string | undefined,
  ctx: OutputContext,
): string {
  const figure = plotlyPayload(payload);
  if (!figure) {
    return `<div class="output-error">This output claims to be a plotly figure but has no <code>data</code> array.</div>`;
  }
  const id = `figure-${++ctx.figures}`;
  return (
    `<div class="plotly-figure" id="${id}" data-figure="${id}-json">${fallbackHtml ?? ''}</div>\n` +
    `<script type="application/json" id="${id}-json">${scriptJson(figure)}</script>`
  );
}

/** One mime bundle (display_data / execute_result) as HTML. */
export function renderBundle(data: Record<string, unknown>, ctx: OutputContext): string {
  const text = (mime: string) => joinSource(data[mime] as string | string[]);
  const mime = MIME_ORDER.find((m) => data[m] !== undefined);
  switch (mime) {
    case PLOTLY_MIME:
      return plotlyFigure(
        data[mime],
        data['text/html'] !== undefined ? text('text/html') : undefined,
        ctx,
      );
    case 'text/html':
      return `<div class="output-html">${text(mime)}</div>`;
    case 'image/svg+xml':
      return `<div class="output-image">${text(mime)}</div>`;
    case 'image/png':
    case 'image/jpeg':
    case 'image/gif':
      return `<div class="output-image"><img alt="figure" src="data:${mime};base64,${text(mime).replace(/\s/g, '')}"></div>`;
    case 'text/markdown':
      return `<div class="output-markdown">${ctx.md.render(text(mime), ctx.env)}</div>`;
    case 'text/latex':
      return `<div class="output-latex">${renderTex(text(mime).replace(/^\$\$?|\$\$?$/g, ''), true, ctx.env)}</div>`;
    case 'application/json':
      return `<pre class="output-text">${escapeHtml(JSON.stringify(data[mime], null, 2))}</pre>`;
    case 'text/plain':
      return `<pre class="output-text">${escapeHtml(stripAnsi(text(mime)))}</pre>`;
    default: {
      const types = Object.keys(data).join(', ') || 'nothing';
      return `<div class="output-unsupported">(an output the book cannot show: ${escapeHtml(types)})</div>`;
    }
  }
}

/** One output as HTML. */
export function renderOutput(output: Output, ctx: OutputContext): string {
  switch (output.output_type) {
    case 'stream': {
      const body = escapeHtml(stripAnsi(joinSource(output.text)));
      return `<pre class="output-text output-${output.name}">${body}</pre>`;
    }
    case 'display_data':
    case 'execute_result':
      return renderBundle(output.data, ctx);
    case 'error': {
      const trace = output.traceback.length
        ? output.traceback.map(stripAnsi).join('\n')
        : `${output.ename}: ${output.evalue}`;
      return `<pre class="output-text output-stderr">${escapeHtml(trace)}</pre>`;
    }
  }
}

/** All outputs of a cell. */
export function renderOutputs(outputs: Output[], ctx: OutputContext): string {
  return outputs.map((o) => renderOutput(o, ctx)).join('\n');
}
