/**
 * The book's HTML: one layout (top bar, chapter sidebar, content, table of contents), the home
 * page, a page per notebook and the exercises page. Pages are static files with relative links, so
 * the folder works from the bundled server, any static host, or straight from disk.
 */
import { joinSource, type Notebook } from '../notebooks/nbformat';
import type { RunRecord } from './cache';
import type { ChapterInfo } from './chapter';
import {
  escapeHtml,
  highlight,
  newRenderEnv,
  renderMarkdown,
  type Heading,
  type Markdown,
} from './markdown';
import { renderOutputs, type OutputContext } from './outputs';

export const COURSE_TITLE = 'Attention, Hands-On';

/** How a chapter stands in this build. */
export type ChapterState =
  { kind: 'ran'; record: RunRecord; cached: boolean } | { kind: 'not-run'; reason: string };

/** A chapter as the pages see it. */
export interface BookChapter {
  info: ChapterInfo;
  /** The executed copy (or the source, when it was not run). */
  notebook: Notebook;
  state: ChapterState;
}

/** One exercise for the exercises page. */
export interface ExerciseEntry {
  chapter: string;
  title: string;
  file: string;
  points: number;
  /** The stub's source, as learners receive it. */
  source: string;
}

/** Facts about the whole build, for the home page. */
export interface BuildFacts {
  seconds: number;
  fast: boolean;
  builtAt: Date;
}

interface LayoutOptions {
  title: string;
  chapters: BookChapter[];
  current: string;
  body: string;
  headings?: Heading[];
  plotly?: boolean;
}

function sidebar(chapters: BookChapter[], current: string): string {
  const link = (href: string, label: string, key: string, extra = '') =>
    `<li${extra}><a href="${href}"${key === current ? ' aria-current="page"' : ''}>${label}</a></li>`;
  const items = chapters.map((c) => {
    const mark =
      c.state.kind === 'not-run'
        ? ' <span class="badge muted">not run</span>'
        : c.state.record.status === 'failed'
          ? ' <span class="badge failed">failed</span>'
          : '';
    return link(`${c.info.slug}.html`, `${escapeHtml(c.info.title)}${mark}`, c.info.slug);
  });
  return `<nav class="sidebar" id="sidebar" aria-label="Chapters">
<ul>
${link('index.html', 'Home', 'index')}
</ul>
<p class="sidebar-heading">Chapters</p>
<ol class="chapters">
${items.join('\n')}
</ol>
<ul>
${link('exercises.html', 'Exercises and grading', 'exercises')}
</ul>
</nav>`;
}

function tableOfContents(headings: Heading[]): string {
  const shown = headings.filter((h) => h.level >= 2 && h.level <= 3);
  if (shown.length < 3) return '';
  const items = shown
    .map((h) => `<li class="toc-h${h.level}"><a href="#${h.id}">${h.text}</a></li>`)
    .join('\n');
  return `<aside class="toc" aria-label="On this page"><p class="toc-heading">On this page</p><ul>\n${items}\n</ul></aside>`;
}

/** The page skeleton shared by every page. */
export function layout(o: LayoutOptions): string {
  const toc = tableOfContents(o.headings ?? []);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/katex/katex.min.css">
<link rel="stylesheet" href="assets/highlight.css">
<link rel="stylesheet" href="assets/book.css">
<script>try{if(localStorage.getItem('ah-large')==='1')document.documentElement.classList.add('large')}catch(e){}</script>
</head>
<body>
<header class="topbar">
<button type="button" class="menu-toggle" aria-controls="sidebar" aria-expanded="false" title="Chapters">☰</button>
<a class="brand" href="index.html">${COURSE_TITLE}</a>
<span class="spacer"></span>
<button type="button" class="font-toggle" aria-pressed="false" title="Larger text, for projectors">A+</button>
</header>
<div class="layout${toc ? ' with-toc' : ''}">
${sidebar(o.chapters, o.current)}
<main id="content">
${o.body}
</main>
${toc}
</div>
${o.plotly ? '<script src="assets/plotly.min.js"></script>\n' : ''}<script src="assets/book.js"></script>
</body>
</html>
`;
}

function seconds(s: number): string {
  return `${s.toFixed(1)} s`;
}

/** "6.1 s" or "6.1 s (cached)" or "failed at cell 5" or "not run". */
function runSummary(c: BookChapter): string {
  if (c.state.kind === 'not-run') return '<span class="badge muted">not run</span>';
  const r = c.state.record;
  if (r.status === 'failed') {
    const where = r.failure?.cell ? ` at cell ${r.failure.cell}` : '';
    return `<span class="badge failed">failed${where}</span> after ${seconds(r.seconds)}`;
  }
  return `${seconds(r.seconds)}${c.state.cached ? ' <span class="muted">(cached)</span>' : ''}`;
}

function neighbours(chapters: BookChapter[], slug: string): string {
  const i = chapters.findIndex((c) => c.info.slug === slug);
  const prev = i > 0 ? chapters[i - 1] : undefined;
  const next = i >= 0 && i + 1 < chapters.length ? chapters[i + 1] : undefined;
  const prevLink = prev
    ? `<a class="prev" rel="prev" href="${prev.info.slug}.html"><span>Previous</span>${escapeHtml(prev.info.title)}</a>`
    : `<a class="prev" rel="prev" href="index.html"><span>Previous</span>Home</a>`;
  const nextLink = next
    ? `<a class="next" rel="next" href="${next.info.slug}.html"><span>Next</span>${escapeHtml(next.info.title)}</a>`
    : `<a class="next" rel="next" href="exercises.html"><span>Next</span>Exercises and grading</a>`;
  return `<nav class="pager" aria-label="Previous and next">${prevLink}${nextLink}</nav>`;
}

/** The banner at the top of a chapter page that failed or was not run. */
function stateBanner(c: BookChapter): string {
  if (c.state.kind === 'not-run') {
    return `<div class="banner warning" role="status"><strong>Not executed in this build.</strong> ${escapeHtml(c.state.reason)} The code is shown without outputs.</div>`;
  }
  const f = c.state.record.failure;
  if (c.state.record.status !== 'failed' || !f) return '';
  const where = f.cell ? ` at <a href="#cell-${f.cell}">cell ${f.cell}</a>` : '';
  return `<div class="banner error" role="alert"><strong>This notebook failed${where}: ${escapeHtml(f.kind)}.</strong> Cells after it did not run.</div>`;
}

function runMeta(c: BookChapter): string {
  const parts: string[] = [];
  if (c.info.backend) parts.push(`ran on <b>${escapeHtml(c.info.backend)}</b>`);
  if (c.state.kind === 'ran') {
    parts.push(`in ${runSummary(c)}`);
    if (c.state.record.fast) parts.push('<span class="badge muted">fast mode</span>');
    parts.push(`<a href="notebooks/${c.info.slug}.ipynb" download>executed notebook</a>`);
  }
  return parts.length ? `<p class="run-meta">${parts.join(' · ')}</p>` : '';
}

/**
 * A chapter page: every cell in order, outputs in place, the failure where it happened. Also
 * returns the TeX that KaTeX could not parse, which the build reports.
 */
export function chapterPage(
  md: Markdown,
  chapters: BookChapter[],
  chapter: BookChapter,
): { html: string; mathErrors: string[] } {
  const env = newRenderEnv();
  const ctx: OutputContext = { md, env, figures: 0 };
  const failure = chapter.state.kind === 'ran' ? chapter.state.record.failure : undefined;
  const failedAt = failure?.cell ?? 0;
  const cells: string[] = [];
  for (const [i, cell] of chapter.notebook.cells.entries()) {
    const n = i + 1;
    const source = joinSource(cell.source);
    if (cell.cell_type === 'markdown') {
      cells.push(
        `<section class="cell markdown" id="cell-${n}">\n${renderMarkdown(md, source, env)}</section>`,
      );
      continue;
    }
    if (cell.cell_type !== 'code') continue; // raw cells are not shown, as in Jupyter's HTML export
    const notRun = chapter.state.kind === 'not-run' || (failedAt > 0 && n > failedAt);
    const count = cell.execution_count ?? (notRun ? ' ' : '');
    const outputs = renderOutputs(cell.outputs, ctx);
    const failed =
      failure && n === failedAt
        ? `<div class="cell-failure" role="alert"><p><strong>This cell failed: ${escapeHtml(failure.kind)}</strong></p><pre>${escapeHtml(failure.message)}</pre></div>`
        : '';
    cells.push(
      `<div class="cell code${notRun ? ' not-run' : ''}${failed ? ' failed' : ''}" id="cell-${n}">` +
        `<div class="input"><span class="prompt" aria-hidden="true">[${count}]</span>` +
        `<pre><code class="hljs language-typescript">${highlight(source)}</code></pre></div>` +
        (outputs || failed ? `<div class="outputs">${outputs}${failed}</div>` : '') +
        `</div>`,
    );
  }
  // The run facts go under the title, which the first (markdown) cell holds.
  const metaAt = chapter.notebook.cells[0]?.cell_type === 'markdown' ? 1 : 0;
  cells.splice(metaAt, 0, runMeta(chapter));
  const body = [
    stateBanner(chapter),
    `<article class="notebook">\n${cells.join('\n')}\n</article>`,
    neighbours(chapters, chapter.info.slug),
  ].join('\n');
  const html = layout({
    title: `${chapter.info.title} · ${COURSE_TITLE}`,
    chapters,
    current: chapter.info.slug,
    body,
    headings: env.headings,
    plotly: ctx.figures > 0,
  });
  return { html, mathErrors: env.mathErrors };
}

const PROMISE = `<p class="lead">Attention is how a model decides what to look at. In this course you build it
yourself, in TypeScript, one idea at a time: from the psychology of limited capacity and selection,
through attention pooling and scoring functions, to Bahdanau and Luong attention, the Transformer and
the Vision Transformer.</p>
<p>Every chapter is a notebook that runs offline on a laptop CPU in seconds. This book shows each one
as it ran for this build, with every output and interactive figure in place. To run and change the
code yourself, open the notebooks in JupyterLab or VS Code with the tslab kernel
(<code>npm run kernel</code> sets it up), then check your exercises with the self-check cell at the
end of each chapter.</p>`;

/** The home page: the promise, the chapters with objectives, time, backend and run times. */
export function homePage(chapters: BookChapter[], facts: BuildFacts): string {
  const ran = chapters.filter((c) => c.state.kind === 'ran');
  const failed = ran.filter((c) => c.state.kind === 'ran' && c.state.record.status === 'failed');
  const backends = [...new Set(chapters.map((c) => c.info.backend).filter(Boolean))];
  const notebookSeconds = ran.reduce(
    (sum, c) => sum + (c.state.kind === 'ran' ? c.state.record.seconds : 0),
    0,
  );
  const reused = ran.filter((c) => c.state.kind === 'ran' && c.state.cached).length;
  const cards = chapters.map((c) => {
    const objectives = c.info.objectives.length
      ? `<details open><summary>Objectives</summary><ul>${c.info.objectives.map((o) => `<li>${o}</li>`).join('')}</ul></details>`
      : '';
    const facts = [
      c.info.estimatedTime ? `<dt>Estimated time</dt><dd>${c.info.estimatedTime}</dd>` : '',
      `<dt>Backend</dt><dd>${c.info.backend ? escapeHtml(c.info.backend) : '<span class="muted">unknown</span>'}</dd>`,
      `<dt>Run time</dt><dd>${runSummary(c)}</dd>`,
    ].join('');
    return `<li class="chapter-card" id="chapter-${c.info.slug}">
<h3><a href="${c.info.slug}.html">${escapeHtml(c.info.title)}</a></h3>
${c.info.intro ? `<p>${c.info.intro}</p>` : ''}
${objectives}
<dl class="facts">${facts}</dl>
</li>`;
  });
  const rows = chapters
    .map(
      (c) =>
        `<tr><td><a href="${c.info.slug}.html">${escapeHtml(c.info.slug)}</a></td><td>${runSummary(c)}</td></tr>`,
    )
    .join('\n');
  const status = failed.length
    ? `<div class="banner error" role="alert"><strong>${failed.length} notebook(s) failed in this build</strong>: ${failed.map((c) => `<a href="${c.info.slug}.html">${escapeHtml(c.info.slug)}</a>`).join(', ')}.</div>`
    : '';
  const body = `${status}
<h1>${COURSE_TITLE}</h1>
${PROMISE}
<h2 id="chapters">Chapters<a class="anchor" href="#chapters" aria-label="link to this section">#</a></h2>
<ol class="chapter-list">
${cards.join('\n')}
</ol>
<h2 id="exercises">Exercises and grading<a class="anchor" href="#exercises" aria-label="link to this section">#</a></h2>
<p>Each chapter ends with graded exercises: small functions you write in <code>exercises/</code>, checked by
tests that give points and feedback. The <a href="exercises.html">exercises page</a> lists them all,
with their points and how to check your answers.</p>
<h2 id="this-build">This build<a class="anchor" href="#this-build" aria-label="link to this section">#</a></h2>
<p>Built ${escapeHtml(facts.builtAt.toISOString().replace('T', ' ').slice(0, 16))} UTC in <b>${seconds(facts.seconds)}</b>
(${facts.fast ? 'fast mode: training shrunk for tests' : 'full course'}), on the
${backends.length ? backends.map((b) => `<b>${escapeHtml(b)}</b>`).join(', ') : 'unknown'} backend.
${ran.length} of ${chapters.length} notebook(s) executed${failed.length ? `, ${failed.length} failed` : ''};
their run times add up to <b>${seconds(notebookSeconds)}</b>${reused ? ` (${reused} reused from an earlier build with the same inputs)` : ''}.</p>
<table class="build-times"><thead><tr><th>notebook</th><th>run time</th></tr></thead><tbody>
${rows}
</tbody></table>`;
  return layout({ title: COURSE_TITLE, chapters, current: 'index', body });
}

/** The exercises page: per chapter, each exercise with its points, stub and how to check it. */
export function exercisesPage(chapters: BookChapter[], exercises: ExerciseEntry[]): string {
  const sections = chapters.map((c) => {
    const own = exercises.filter((e) => e.chapter === c.info.slug);
    if (own.length === 0) return '';
    const total = own.reduce((s, e) => s + e.points, 0);
    const items = own
      .map(
        (
          e,
        ) => `<li><p><b>${escapeHtml(e.title)}</b> · ${e.points} point${e.points === 1 ? '' : 's'} · <code>exercises/${escapeHtml(e.chapter)}/${escapeHtml(e.file)}</code></p>
<details><summary>The stub you start from</summary><pre><code class="hljs language-typescript">${highlight(e.source)}</code></pre></details></li>`,
      )
      .join('\n');
    return `<h2 id="${c.info.slug}">${escapeHtml(c.info.title)}<a class="anchor" href="#${c.info.slug}" aria-label="link to this section">#</a></h2>
<p>${own.length} exercise(s), ${total} points. Read them in context at the end of <a href="${c.info.slug}.html">the chapter</a>.</p>
<ul class="exercise-list">
${items}
</ul>
<p>Check them: run the last cell of the notebook (<code>await ah.selfCheck('${escapeHtml(c.info.slug)}')</code>), or from a terminal</p>
<pre><code>${escapeHtml(gradeCommand(c.info.slug))}</code></pre>`;
  });
  const body = `<h1>Exercises and grading</h1>
<p>You write each exercise in its file under <code>exercises/</code>; the stubs throw
"not implemented yet" until you do. Graded tests compare your functions with the course library on
seeded random inputs and tell you what differed (values, shapes, dtypes) and a hint. Only
<code>exercises/</code> is yours to edit.</p>
${sections.join('\n')}`;
  return layout({
    title: `Exercises and grading · ${COURSE_TITLE}`,
    chapters,
    current: 'exercises',
    body,
  });
}

/** The terminal command that grades one chapter's exercises. */
export function gradeCommand(chapter: string): string {
  return `npm run grade -- ${chapter}`;
}
