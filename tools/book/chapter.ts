/**
 * What the home page says about a chapter, read from its notebook: the title (first `#` heading),
 * the opening paragraph, the objectives (the list after "**Objectives.**"), the estimated time
 * (the paragraph "**Estimated time.** ..."), and, once executed, the backend it ran on and how
 * long it took. The notebook is the one source of these; the book never repeats them by hand.
 */
import { parseBackendSummary } from '../../src/backend/backend';
import { joinSource, streamText, type Notebook } from '../notebooks/nbformat';
import { newRenderEnv, type Markdown, type MarkdownToken } from './markdown';

export interface ChapterInfo {
  /** File name without `.ipynb`, e.g. `01-attention-pooling`; also the page name. */
  slug: string;
  /** The leading number, e.g. `01`, or '' when the name has none. */
  number: string;
  /** The first `#` heading as plain text, e.g. `01 · Queries, keys, values and attention pooling`. */
  title: string;
  /** The first paragraph after the title, as HTML. */
  intro: string;
  /** Each objective as inline HTML. */
  objectives: string[];
  /** The estimated-time sentence as inline HTML, or ''. */
  estimatedTime: string;
  /** Backend name the executed notebook printed (`wasm`, `cpu`, `native`), or ''. */
  backend: string;
  /** The backend's whole summary line, or ''. */
  backendSummary: string;
}

function inlineAfter(tokens: MarkdownToken[], i: number): MarkdownToken | undefined {
  return tokens[i + 1]?.type === 'inline' ? tokens[i + 1] : undefined;
}

/** The list items of the bullet or ordered list starting at `tokens[start]`, as inline HTML. */
function listItems(md: Markdown, tokens: MarkdownToken[], start: number): string[] {
  const items: string[] = [];
  let depth = 0;
  for (let i = start; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type === 'bullet_list_open' || t.type === 'ordered_list_open') depth++;
    if (t.type === 'bullet_list_close' || t.type === 'ordered_list_close') {
      depth--;
      if (depth === 0) break;
    }
    if (depth === 1 && t.type === 'inline' && tokens[i - 1]?.type === 'paragraph_open') {
      items.push(md.renderInline(t.content, newRenderEnv()));
    }
  }
  return items;
}

/** Reads a chapter's description from its notebook (executed or not). */
export function chapterInfo(md: Markdown, slug: string, nb: Notebook): ChapterInfo {
  const info: ChapterInfo = {
    slug,
    number: /^(\d+)/.exec(slug)?.[1] ?? '',
    title: slug,
    intro: '',
    objectives: [],
    estimatedTime: '',
    backend: '',
    backendSummary: '',
  };
  let titleSeen = false;
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'markdown') continue;
    const tokens = md.parse(joinSource(cell.source), newRenderEnv());
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      const inline = inlineAfter(tokens, i);
      if (!inline) continue;
      if (t.type === 'heading_open' && t.tag === 'h1' && !titleSeen) {
        info.title = inline.content.trim();
        titleSeen = true;
      } else if (t.type === 'paragraph_open' && titleSeen) {
        const text = inline.content.trim();
        const objectives = /^\*\*Objectives\.?\*\*/.exec(text);
        const time = /^\*\*Estimated time\.?\*\*\s*/.exec(text);
        if (objectives && info.objectives.length === 0) {
          const listStart = tokens.findIndex(
            (x: MarkdownToken, j: number) =>
              j > i && (x.type === 'bullet_list_open' || x.type === 'ordered_list_open'),
          );
          if (listStart > 0) info.objectives = listItems(md, tokens, listStart);
        } else if (time && !info.estimatedTime) {
          info.estimatedTime = md.renderInline(text.slice(time[0].length), newRenderEnv());
        } else if (!info.intro && t.level === 0 && !text.startsWith('**')) {
          info.intro = md.renderInline(text, newRenderEnv());
        }
      }
    }
  }
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'code') continue;
    for (const line of streamText(cell.outputs, 'stdout').split('\n')) {
      const parsed = parseBackendSummary(line);
      if (parsed) {
        info.backend = parsed.name;
        info.backendSummary = line.trim();
        return info;
      }
    }
  }
  return info;
}
