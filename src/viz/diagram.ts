/**
 * Data-flow diagrams: boxes on a grid joined by arrows, drawn as a static SVG (no script, no
 * external resources), for figures such as "which state is the query, where does the context go"
 * (chapter 04 puts Bahdanau's and Luong's decoder steps side by side). Several diagrams given
 * together are drawn side by side in one SVG.
 */
import { display } from './display';
import { escapeXml } from './format';
import { CHAR_PX, FONT_SIZE, PALETTE } from './figure/shared';

/** One box. `col` and `row` place its centre on the grid (fractions allowed). */
export interface DiagramNode {
  /** Unique within its diagram; edges name it. */
  id: string;
  /** The text in the box (one line). */
  label: string;
  col: number;
  row: number;
  /** `'state'`: a vector (rounded box); `'op'`: a computation (square box). Defaults to `'state'`. */
  kind?: 'state' | 'op';
}

/** One arrow from the box `from` to the box `to`. */
export interface DiagramEdge {
  from: string;
  to: string;
  /** A short text at the middle of the arrow. */
  label?: string;
  /** Colour index into the figure palette (0 blue, 1 orange, 2 green, 3 red, ...); grey without. */
  colour?: number;
  /** Draw dashed (e.g. a value carried to the next step). */
  dashed?: boolean;
}

/** A diagram: boxes, arrows and a title. */
export interface Diagram {
  title?: string;
  nodes: DiagramNode[];
  edges: DiagramEdge[];
}

const COL_PX = 150;
const ROW_PX = 70;
const BOX_H = 26;
const MARGIN = 20;
const TITLE_H = 30;

function fail(where: string, what: string, got: unknown): never {
  const text = typeof got === 'string' ? `'${got}'` : String(got);
  throw new TypeError(`${where}: expected ${what}, got ${text}`);
}

function checkDiagram(d: unknown, i: number): Diagram {
  const where = `diagrams[${i}]`;
  if (d === null || typeof d !== 'object') fail(where, '{ title?, nodes, edges }', d);
  const dia = d as Diagram;
  if (!Array.isArray(dia.nodes) || dia.nodes.length === 0) {
    fail(`${where}.nodes`, 'a non-empty array of { id, label, col, row }', dia.nodes);
  }
  if (!Array.isArray(dia.edges)) fail(`${where}.edges`, 'an array of { from, to }', dia.edges);
  const ids = new Set<string>();
  dia.nodes.forEach((n, j) => {
    const w = `${where}.nodes[${j}]`;
    if (n === null || typeof n !== 'object') fail(w, '{ id, label, col, row }', n);
    if (typeof n.id !== 'string' || n.id === '') fail(`${w}.id`, 'a non-empty string', n.id);
    if (ids.has(n.id)) fail(`${w}.id`, 'an id not used by another node', n.id);
    ids.add(n.id);
    if (typeof n.label !== 'string') fail(`${w}.label`, 'a string', n.label);
    for (const key of ['col', 'row'] as const) {
      if (typeof n[key] !== 'number' || !Number.isFinite(n[key]) || n[key] < 0) {
        fail(`${w}.${key}`, 'a finite number >= 0', n[key]);
      }
    }
    if (n.kind !== undefined && n.kind !== 'state' && n.kind !== 'op') {
      fail(`${w}.kind`, "'state' or 'op'", n.kind);
    }
  });
  dia.edges.forEach((e, j) => {
    const w = `${where}.edges[${j}]`;
    if (e === null || typeof e !== 'object') fail(w, '{ from, to }', e);
    for (const key of ['from', 'to'] as const) {
      if (!ids.has(e[key])) fail(`${w}.${key}`, `the id of a node of ${where}`, e[key]);
    }
    if (e.colour !== undefined && !(Number.isInteger(e.colour) && e.colour >= 0)) {
      fail(`${w}.colour`, 'a palette index (an integer >= 0)', e.colour);
    }
  });
  return dia;
}

function boxWidth(label: string): number {
  return Math.max(40, Array.from(label).length * CHAR_PX + 16);
}

/** Where the segment from the centre (cx, cy) towards (tx, ty) leaves a w x h box. */
function exitPoint(cx: number, cy: number, w: number, tx: number, ty: number): [number, number] {
  const dx = tx - cx;
  const dy = ty - cy;
  if (dx === 0 && dy === 0) return [cx, cy];
  const sx = dx === 0 ? Infinity : w / 2 / Math.abs(dx);
  const sy = dy === 0 ? Infinity : BOX_H / 2 / Math.abs(dy);
  const s = Math.min(sx, sy);
  return [cx + dx * s, cy + dy * s];
}

const r1 = (v: number): string => String(Math.round(v * 10) / 10);

function diagramBody(d: Diagram, x0: number, width: number, markerIds: string[]): string[] {
  const parts: string[] = [];
  if (d.title) {
    parts.push(
      `<text x="${r1(x0 + width / 2)}" y="20" text-anchor="middle" font-size="13" ` +
        `font-weight="bold">${escapeXml(d.title)}</text>`,
    );
  }
  const at = new Map<string, { x: number; y: number; w: number }>();
  for (const n of d.nodes) {
    at.set(n.id, {
      x: x0 + MARGIN + n.col * COL_PX + COL_PX / 2,
      y: TITLE_H + MARGIN + n.row * ROW_PX + BOX_H / 2,
      w: boxWidth(n.label),
    });
  }
  for (const e of d.edges) {
    const a = at.get(e.from)!;
    const b = at.get(e.to)!;
    const [x1, y1] = exitPoint(a.x, a.y, a.w + 6, b.x, b.y);
    const [x2, y2] = exitPoint(b.x, b.y, b.w + 6, a.x, a.y);
    const colour = e.colour === undefined ? '#666' : PALETTE[e.colour % PALETTE.length];
    const marker = markerIds[e.colour === undefined ? 0 : 1 + (e.colour % PALETTE.length)];
    parts.push(
      `<line class="ah-edge" x1="${r1(x1)}" y1="${r1(y1)}" x2="${r1(x2)}" y2="${r1(y2)}" ` +
        `stroke="${colour}" stroke-width="1.6"${e.dashed ? ' stroke-dasharray="5 3"' : ''} ` +
        `marker-end="url(#${marker})"/>`,
    );
    if (e.label) {
      parts.push(
        `<text x="${r1((x1 + x2) / 2 + 4)}" y="${r1((y1 + y2) / 2 - 4)}" fill="${colour}" ` +
          `font-style="italic">${escapeXml(e.label)}</text>`,
      );
    }
  }
  for (const n of d.nodes) {
    const p = at.get(n.id)!;
    const rx = n.kind === 'op' ? 2 : 12;
    const fill = n.kind === 'op' ? '#f3f3f3' : '#eef4fb';
    parts.push(
      `<rect class="ah-node" x="${r1(p.x - p.w / 2)}" y="${r1(p.y - BOX_H / 2)}" ` +
        `width="${r1(p.w)}" height="${BOX_H}" rx="${rx}" fill="${fill}" stroke="#333"/>`,
      `<text x="${r1(p.x)}" y="${r1(p.y + 4)}" text-anchor="middle">${escapeXml(n.label)}</text>`,
    );
  }
  return parts;
}

/**
 * The SVG of one or more diagrams, side by side (each as wide as its own grid). Boxes are placed
 * at `col * 150 px`, `row * 70 px`; every arrow ends at the border of its target box.
 * @param diagrams at least one `{ title?, nodes, edges }`; every edge names existing node ids
 */
export function diagramSvg(diagrams: Diagram | Diagram[]): string {
  const list = Array.isArray(diagrams) ? diagrams : [diagrams];
  if (list.length === 0) fail('diagrams', 'at least one diagram', 'an empty array');
  list.forEach(checkDiagram);
  const widths = list.map(
    (d) =>
      2 * MARGIN +
      COL_PX * (1 + Math.max(...d.nodes.map((n) => n.col))) +
      Math.max(0, ...d.nodes.map((n) => boxWidth(n.label) - COL_PX)),
  );
  const H = Math.round(
    Math.max(
      ...list.map((d) => TITLE_H + 2 * MARGIN + ROW_PX * Math.max(...d.nodes.map((n) => n.row))),
    ) + BOX_H,
  );
  const W = Math.round(widths.reduce((a, b) => a + b, 0));
  const markerIds = ['ah-arrow-grey', ...PALETTE.map((_, i) => `ah-arrow-${i}`)];
  const colours = ['#666', ...PALETTE];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ` +
      `font-family="sans-serif" font-size="${FONT_SIZE}" style="max-width:100%;height:auto">`,
    `<defs>${markerIds
      .map(
        (id, i) =>
          `<marker id="${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ` +
          `markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" ` +
          `fill="${colours[i]}"/></marker>`,
      )
      .join('')}</defs>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
  ];
  let x0 = 0;
  list.forEach((d, i) => {
    if (i > 0) {
      parts.push(`<line x1="${r1(x0)}" y1="8" x2="${r1(x0)}" y2="${H - 8}" stroke="#ccc"/>`);
    }
    parts.push(...diagramBody(d, x0, widths[i], markerIds));
    x0 += widths[i];
  });
  parts.push('</svg>');
  return parts.join('');
}

/**
 * Shows one or more diagrams side by side in a notebook (static SVG; a one-line description as
 * plain text), e.g. `ah.showDiagram(bahdanauStep, luongStep)`.
 */
export function showDiagram(...diagrams: Diagram[]): void {
  const svg = diagramSvg(diagrams);
  const names = diagrams.map((d, i) => d.title ?? `diagram ${i + 1}`).join(' | ');
  display({
    'text/html': `<div class="ah-figure">${svg}</div>`,
    'text/plain': `Diagram: ${names}`,
  });
}
