/**
 * Builds the course book: runs each notebook with the headless runner (or reuses its executed
 * copy when nothing it depends on changed), then writes a static site of every chapter with its
 * outputs, a home page and an exercises page, plus the assets they need (plotly, KaTeX, styles),
 * all copied from node_modules so the site works offline.
 */
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { loadSpecs } from '../grading/framework';
import { readNotebook, type Notebook } from '../notebooks/nbformat';
import {
  DEFAULT_CELL_TIMEOUT_MS,
  DEFAULT_NOTEBOOK_TIMEOUT_MS,
  runNotebook,
  type NotebookResult,
  type RunnerEvents,
} from '../notebooks/runner';
import { cacheKey, hashInputs, isFresh, runRecord } from './cache';
import { chapterInfo } from './chapter';
import { createMarkdown } from './markdown';
import {
  chapterPage,
  exercisesPage,
  homePage,
  type BookChapter,
  type ExerciseEntry,
} from './pages';

/** The course root (two folders up from this file). */
export const COURSE_ROOT = resolve(__dirname, '..', '..');

/** Written into the site folder; only a folder holding it (or an empty one) is ever cleaned. */
export const SITE_MARKER = '.course-book';

export interface BookOptions {
  /** The notebooks, in chapter order. */
  notebooks: string[];
  /** The site folder. */
  outDir: string;
  /**
   * Only these notebooks may be run (absolute paths); the others appear from a fresh executed
   * copy, or as not run. Default: all of `notebooks`.
   */
  selected?: string[];
  /** Course root: where `src/`, `exercises/`, `graded/` are. Default: this repository. */
  root?: string;
  /** Fast mode (ATTENTION_FAST=1). Default false. */
  fast?: boolean;
  /** Run every notebook even if its executed copy is fresh. Default false. */
  force?: boolean;
  /** Go on after a failing notebook instead of stopping. Default false. */
  keepGoing?: boolean;
  cellTimeoutMs?: number;
  notebookTimeoutMs?: number;
  events?: BookEvents;
  /** The clock, for tests. */
  now?: () => number;
}

export interface BookEvents extends RunnerEvents {
  /** A notebook's executed copy was reused. */
  cached?(name: string, seconds: number): void;
  /** A notebook was not run, and why. */
  skipped?(name: string, reason: string): void;
}

/** How one chapter ended up in this build. */
export interface ChapterOutcome {
  name: string;
  /** `passed`/`failed` for notebooks run now or reused (`cached`); `not-run` otherwise. */
  status: 'passed' | 'failed' | 'not-run';
  cached: boolean;
  /** Run time in seconds (of the earlier run, when cached); 0 when not run. */
  seconds: number;
  /** The page, relative to the site folder. */
  page: string;
  /** The runner's result, when it ran in this build. */
  result?: NotebookResult;
}

export interface BookResult {
  outDir: string;
  chapters: ChapterOutcome[];
  /** Wall time of the whole build. */
  seconds: number;
  /** TeX that KaTeX could not parse, as "page: message". */
  mathErrors: string[];
}

/** Refuses to build into a folder that holds something other than an earlier book. */
function prepareOutDir(outDir: string): void {
  if (existsSync(outDir)) {
    const entries = readdirSync(outDir);
    if (entries.length > 0 && !entries.includes(SITE_MARKER)) {
      throw new Error(
        `refusing to build the book into ${outDir}: expected an empty folder or an earlier book, got a folder with ${entries.length} other entries (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''})`,
      );
    }
  }
  mkdirSync(join(outDir, 'notebooks'), { recursive: true });
  writeFileSync(
    join(outDir, SITE_MARKER),
    'A course book built by tools/book; this folder is rebuilt.\n',
  );
}

/** Writes a file atomically, so a server never sends half a page. */
function writeAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

function moduleFile(root: string, ...parts: string[]): string {
  const path = join(root, 'node_modules', ...parts);
  if (!existsSync(path)) {
    throw new Error(`the book needs ${relative(root, path)}; run npm install first`);
  }
  return path;
}

/** Copies the page assets: our script and styles, plotly, KaTeX's CSS and fonts, a code theme. */
export function copyAssets(root: string, outDir: string): void {
  const assets = join(outDir, 'assets');
  mkdirSync(assets, { recursive: true });
  for (const file of ['book.css', 'book.js'])
    copyFileSync(join(__dirname, 'assets', file), join(assets, file));
  copyFileSync(
    moduleFile(root, 'plotly.js-dist-min', 'plotly.min.js'),
    join(assets, 'plotly.min.js'),
  );
  copyFileSync(
    moduleFile(root, 'highlight.js', 'styles', 'github.min.css'),
    join(assets, 'highlight.css'),
  );
  mkdirSync(join(assets, 'katex'), { recursive: true });
  copyFileSync(
    moduleFile(root, 'katex', 'dist', 'katex.min.css'),
    join(assets, 'katex', 'katex.min.css'),
  );
  cpSync(moduleFile(root, 'katex', 'dist', 'fonts'), join(assets, 'katex', 'fonts'), {
    recursive: true,
  });
}

/** The exercises of the course, from the graded specs, with the current text of each file. */
function exerciseEntries(root: string): ExerciseEntry[] {
  const graded = join(root, 'graded');
  if (!existsSync(graded)) return [];
  return loadSpecs(graded).map((spec) => {
    const file = join(root, 'exercises', spec.chapter, spec.file);
    return {
      chapter: spec.chapter,
      title: spec.title,
      file: spec.file,
      points: spec.tests.reduce((sum, t) => sum + t.points, 0),
      source: existsSync(file)
        ? readFileSync(file, 'utf8')
        : `// ${spec.file} is missing from exercises/${spec.chapter}/`,
    };
  });
}

function readExecuted(path: string): Notebook | null {
  if (!existsSync(path)) return null;
  try {
    return readNotebook(path);
  } catch {
    return null; // a damaged copy is simply not reused
  }
}

/** Runs (or reuses) every notebook and writes the site. Never throws for a failing notebook. */
export async function buildBook(options: BookOptions): Promise<BookResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const root = options.root ?? COURSE_ROOT;
  const outDir = resolve(options.outDir);
  const executedDir = join(outDir, 'notebooks');
  const events = options.events ?? {};
  const selected = new Set((options.selected ?? options.notebooks).map((p) => resolve(p)));
  prepareOutDir(outDir);

  const shared = hashInputs(root);
  const md = createMarkdown();
  const chapters: BookChapter[] = [];
  const outcomes: ChapterOutcome[] = [];
  let stoppedBy = '';
  for (const path of options.notebooks) {
    const name = basename(path, '.ipynb');
    const key = cacheKey(path, shared, Boolean(options.fast));
    const executedPath = join(executedDir, `${name}.ipynb`);
    const executed = readExecuted(executedPath);
    const outcome: ChapterOutcome = {
      name,
      status: 'not-run',
      cached: false,
      seconds: 0,
      page: `${name}.html`,
    };
    let state: BookChapter['state'];
    let notebook: Notebook;
    if (!options.force && executed && isFresh(executed, key)) {
      const record = runRecord(executed)!;
      state = { kind: 'ran', record, cached: true };
      notebook = executed;
      Object.assign(outcome, { status: 'passed', cached: true, seconds: record.seconds });
      events.cached?.(name, record.seconds);
    } else if (stoppedBy || !selected.has(resolve(path))) {
      const reason = stoppedBy || 'It was not among the notebooks selected for this build.';
      state = { kind: 'not-run', reason };
      notebook = readNotebook(path);
      events.skipped?.(name, reason);
    } else {
      const result = await runNotebook(path, {
        outDir: executedDir,
        fast: options.fast,
        cellTimeoutMs: options.cellTimeoutMs ?? DEFAULT_CELL_TIMEOUT_MS,
        notebookTimeoutMs: options.notebookTimeoutMs ?? DEFAULT_NOTEBOOK_TIMEOUT_MS,
        cacheKey: key,
        events,
      });
      outcome.result = result;
      outcome.status = result.status;
      outcome.seconds = result.ms / 1000;
      const copy = result.outPath ? readExecuted(result.outPath) : null;
      const record = copy ? runRecord(copy) : null;
      if (copy && record) {
        state = { kind: 'ran', record, cached: false };
        notebook = copy;
      } else {
        // Unreadable notebook: no executed copy exists, so the page explains the failure alone.
        const message = result.failure?.message ?? 'the runner could not read this notebook';
        state = { kind: 'not-run', reason: `It could not be run: ${message}` };
        notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] };
      }
      if (result.status === 'failed' && !options.keepGoing) {
        stoppedBy = `The build stopped when ${name} failed (use --keep-going to run the rest).`;
      }
    }
    chapters.push({ info: chapterInfo(md, name, notebook), notebook, state });
    outcomes.push(outcome);
  }

  copyAssets(root, outDir);
  const mathErrors: string[] = [];
  for (const chapter of chapters) {
    const page = chapterPage(md, chapters, chapter);
    mathErrors.push(...page.mathErrors.map((m) => `${chapter.info.slug}: ${m}`));
    writeAtomic(join(outDir, `${chapter.info.slug}.html`), page.html);
  }
  writeAtomic(join(outDir, 'exercises.html'), exercisesPage(chapters, exerciseEntries(root)));
  removeStalePages(outDir, chapters);
  const seconds = (now() - started) / 1000;
  writeAtomic(
    join(outDir, 'index.html'),
    homePage(chapters, { seconds, fast: Boolean(options.fast), builtAt: new Date(now()) }),
  );
  const result: BookResult = { outDir, chapters: outcomes, seconds, mathErrors };
  writeAtomic(
    join(outDir, 'build.json'),
    `${JSON.stringify({ ...result, chapters: outcomes.map(({ result: _r, ...c }) => c) }, null, 2)}\n`,
  );
  return result;
}

/** Deletes chapter pages and executed copies of notebooks that no longer exist. */
function removeStalePages(outDir: string, chapters: BookChapter[]): void {
  const live = new Set(chapters.map((c) => c.info.slug));
  for (const file of readdirSync(outDir)) {
    if (
      file.endsWith('.html') &&
      file !== 'index.html' &&
      file !== 'exercises.html' &&
      !live.has(basename(file, '.html'))
    ) {
      rmSync(join(outDir, file));
    }
  }
  for (const file of readdirSync(join(outDir, 'notebooks'))) {
    if (file.endsWith('.ipynb') && !live.has(basename(file, '.ipynb')))
      rmSync(join(outDir, 'notebooks', file));
  }
}
