/**
 * Markdown for the course book: markdown-it with TeX math rendered by KaTeX at build time (so a
 * page needs no script to show equations, and works offline), code highlighted by highlight.js,
 * and an id plus a "#" link on every heading for the table of contents.
 *
 * Math follows the notebook's own conventions, as JupyterLab reads them: `$...$` inline and
 * `$$...$$` displayed, with `\$` for a literal dollar. Code spans and fences are never math.
 */
import hljs from 'highlight.js';
import katex from 'katex';
import MarkdownIt = require('markdown-it');

type StateBlock = MarkdownIt.StateBlock;
type StateInline = MarkdownIt.StateInline;
/** The configured renderer `createMarkdown` returns. */
export type Markdown = MarkdownIt.MarkdownIt;
/** A token of markdown-it's parse. */
export type MarkdownToken = MarkdownIt.Token;

/** A heading of a page, for its table of contents. */
export interface Heading {
  level: number;
  id: string;
  text: string;
}

/** What rendering collected besides the HTML. */
export interface RenderEnv extends MarkdownIt.Env {
  /** Headings in order, with the ids given to them. */
  headings: Heading[];
  /** Ids already used on the page (headings of earlier cells count). */
  usedIds: Set<string>;
  /** TeX that KaTeX could not parse, with its message; the page shows the source in red. */
  mathErrors: string[];
}

/** A fresh environment for one page. */
export function newRenderEnv(): RenderEnv {
  return { headings: [], usedIds: new Set(), mathErrors: [] };
}

const DOLLAR = 0x24;
const BACKSLASH = 0x5c;

/** Renders TeX with KaTeX; a parse error becomes a visible, titled span and is recorded. */
export function renderTex(tex: string, displayMode: boolean, env?: RenderEnv): string {
  try {
    return katex.renderToString(tex, { displayMode, throwOnError: true, output: 'htmlAndMathml' });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    env?.mathErrors.push(
      `${message} in ${displayMode ? '$$' : '$'}${tex}${displayMode ? '$$' : '$'}`,
    );
    return `<span class="math-error" title="${escapeHtml(message)}">${escapeHtml(tex)}</span>`;
  }
}

/** Finds the `$` (or `$$`) closing math that opens at `start`, or -1. */
function findClosing(src: string, start: number, end: number, display: boolean): number {
  for (let i = start; i < end; i++) {
    const c = src.charCodeAt(i);
    if (c === BACKSLASH) {
      i++; // \$ inside math is an escaped dollar, not the end
      continue;
    }
    if (c !== DOLLAR) continue;
    if (display) {
      if (src.charCodeAt(i + 1) === DOLLAR) return i;
      continue;
    }
    // Pandoc's rule, which also keeps prices like "$5 and $6" out of math: the closing $ has no
    // space before it and no digit after it.
    const before = src.charCodeAt(i - 1);
    const after = src.charCodeAt(i + 1);
    if (before !== 0x20 && before !== 0x0a && !(after >= 0x30 && after <= 0x39)) return i;
  }
  return -1;
}

/** Inline rule: `$$...$$` (display, may span lines of a paragraph) and `$...$`. */
function mathInline(state: StateInline, silent: boolean): boolean {
  const { src, pos, posMax } = state;
  if (src.charCodeAt(pos) !== DOLLAR) return false;
  const display = src.charCodeAt(pos + 1) === DOLLAR;
  const open = display ? 2 : 1;
  if (!display) {
    const next = src.charCodeAt(pos + 1);
    if (next === 0x20 || next === 0x0a || Number.isNaN(next)) return false;
  }
  const close = findClosing(src, pos + open, posMax, display);
  if (close < 0 || close === pos + open) return false;
  if (!silent) {
    const token = state.push(display ? 'math_display' : 'math_inline', 'math', 0);
    token.content = src.slice(pos + open, close);
    token.markup = display ? '$$' : '$';
  }
  state.pos = close + open;
  return true;
}

/**
 * Block rule: a paragraph that starts with `$$` is math up to the line ending in `$$`, so that
 * lines inside it (such as `- x` or `1.`) are never read as markdown lists or headings.
 */
function mathBlock(
  state: StateBlock,
  startLine: number,
  endLine: number,
  silent: boolean,
): boolean {
  const lineText = (line: number) =>
    state.src.slice(state.bMarks[line] + state.tShift[line], state.eMarks[line]);
  const first = lineText(startLine);
  if (!first.startsWith('$$') || state.sCount[startLine] - state.blkIndent >= 4) return false;
  let body = first.slice(2);
  let last = startLine;
  let closed = body.trimEnd().endsWith('$$') && body.trim().length >= 2;
  if (closed) body = body.trimEnd().slice(0, -2);
  while (!closed && last + 1 < endLine) {
    last++;
    const text = lineText(last);
    if (text.trim() === '' && state.sCount[last] < state.blkIndent) return false;
    if (text.trimEnd().endsWith('$$')) {
      body += `\n${text.trimEnd().slice(0, -2)}`;
      closed = true;
    } else {
      body += `\n${text}`;
    }
  }
  if (!closed) return false;
  // Only a block if nothing follows the closing $$ on its line; otherwise the inline rule handles it.
  if (silent) return true;
  const token = state.push('math_display', 'math', 0);
  token.block = true;
  token.content = body;
  token.map = [startLine, last + 1];
  token.markup = '$$';
  state.line = last + 1;
  return true;
}

/** GitHub-style ids: lower case, punctuation dropped, spaces to dashes, made unique per page. */
export function slugify(text: string, used: Set<string>): string {
  const base =
    text
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^\p{L}\p{N}\s-]/gu, '')
      .trim()
      .replace(/\s+/g, '-') || 'section';
  let id = base;
  for (let n = 1; used.has(id); n++) id = `${base}-${n}`;
  used.add(id);
  return id;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Highlights code; unknown languages are escaped only. */
export function highlight(code: string, language = 'typescript'): string {
  const lang = hljs.getLanguage(language) ? language : undefined;
  return lang
    ? hljs.highlight(code, { language: lang, ignoreIllegals: true }).value
    : escapeHtml(code);
}

/** The course's markdown renderer. One instance serves every page; state goes in `RenderEnv`. */
export function createMarkdown(): Markdown {
  const md = new MarkdownIt({
    html: true, // notebooks may hold small HTML (e.g. <sub>, <details>); they are the course's own text
    linkify: false,
    typographer: false,
    highlight: (code, lang) => highlight(code, lang || 'typescript'),
  });
  md.inline.ruler.after('escape', 'math_inline', mathInline);
  md.block.ruler.before('paragraph', 'math_block', mathBlock, {
    alt: ['paragraph', 'reference', 'blockquote', 'list'],
  });
  // markdown-it types `env` loosely; every render of this instance passes a RenderEnv.
  md.renderer.rules.math_inline = (tokens, i, _o, env) =>
    renderTex(tokens[i].content, false, env as RenderEnv);
  md.renderer.rules.math_display = (tokens, i, _o, env) => {
    const html = renderTex(tokens[i].content.trim(), true, env as RenderEnv);
    return tokens[i].block ? `<div class="math-block">${html}</div>\n` : html;
  };
  md.renderer.rules.heading_open = (tokens, i, options, rawEnv, self) => {
    const env = rawEnv as RenderEnv;
    const inline = tokens[i + 1];
    const text = (inline.children ?? [])
      .filter((t) => t.type === 'text' || t.type === 'code_inline' || t.type === 'math_inline')
      .map((t) => t.content)
      .join('');
    const id = slugify(text, env.usedIds);
    const level = Number(tokens[i].tag.slice(1));
    env.headings.push({
      level,
      id,
      text: md.renderInline(inline.content, { ...env, headings: [] }),
    });
    tokens[i].attrSet('id', id);
    return self.renderToken(tokens, i, options);
  };
  md.renderer.rules.heading_close = (tokens, i, options, _env, self) => {
    const id = tokens[i - 2]?.attrGet('id');
    const anchor = id
      ? `<a class="anchor" href="#${id}" aria-label="link to this section">#</a>`
      : '';
    return `${anchor}${self.renderToken(tokens, i, options)}`;
  };
  // Links to other notebooks of the course point at their pages in the book.
  const defaultLinkOpen =
    md.renderer.rules.link_open ??
    ((tokens, i, options, _env, self) => self.renderToken(tokens, i, options));
  md.renderer.rules.link_open = (tokens, i, options, env, self) => {
    const href = tokens[i].attrGet('href');
    if (typeof href === 'string') tokens[i].attrSet('href', notebookLinkToPage(href));
    return defaultLinkOpen(tokens, i, options, env, self);
  };
  return md;
}

/** `01-attention-pooling.ipynb#x` -> `01-attention-pooling.html#x`; other links unchanged. */
export function notebookLinkToPage(href: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) return href;
  return href.replace(/^(?:\.\/)?([^/#?]+)\.ipynb(?=$|#)/, '$1.html');
}

/** Renders one markdown cell's source. Headings and math errors are added to `env`. */
export function renderMarkdown(md: Markdown, source: string, env: RenderEnv): string {
  return md.render(source, env);
}
