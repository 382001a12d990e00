/**
 * `npm start -- [names...] [options]`: executes the course notebooks and builds the course book
 * (a static site in build/book/), then serves it on localhost. Exits 1 if a notebook failed,
 * 2 on bad usage, 130 when interrupted.
 */
import { join, relative } from 'node:path';
import { killAllKernels } from '../notebooks/kernel';
import {
  failureReport,
  parseArgs as parseRunnerArgs,
  progressPrinter,
  resolveNames,
  courseNotebooks,
  exitOnSignal,
  STOP_SIGNALS,
} from '../notebooks/cli';
import { UsageError } from '../command';
import {
  DEFAULT_CELL_TIMEOUT_MS,
  DEFAULT_NOTEBOOK_TIMEOUT_MS,
  textTable,
} from '../notebooks/runner';
import { buildBook, COURSE_ROOT, type BookResult } from './build';
import { serveBook } from './serve';

const USAGE = `usage: npm start -- [names...] [options]

Executes the course notebooks (reusing earlier results when nothing they depend on changed),
builds the course book in build/book/ and serves it at a local address.

  names                 only run these notebooks (files, names or number prefixes such as 01);
                        the others appear from earlier builds, or as not run
  --build-only          build the book and exit, without serving it (for CI and hosting)
  --force               run every notebook, even when its earlier result is still valid
  --keep-going          after a failing notebook, run the rest anyway
  --fast                shrink training (ATTENTION_FAST=1), as the tests do
  --out DIR             where the book goes (default: build/book)
  --port N              first port to try (default: 8000; 0 = any free port)
  --cell-timeout SEC    longest one cell may run (default: ${DEFAULT_CELL_TIMEOUT_MS / 1000})
  --notebook-timeout SEC  longest one notebook may run (default: ${DEFAULT_NOTEBOOK_TIMEOUT_MS / 1000})
  -h, --help            show this help`;

export interface BookCliOptions {
  names: string[];
  buildOnly: boolean;
  force: boolean;
  keepGoing: boolean;
  fast: boolean;
  outDir: string;
  port: number;
  cellTimeoutMs: number;
  notebookTimeoutMs: number;
  help: boolean;
}

/** Parses the command line: the book's own flags, then the runner's (names, --fast, timeouts, --out). */
export function parseArgs(argv: string[], env = process.env): BookCliOptions {
  const rest: string[] = [];
  const flags = { buildOnly: false, force: false, keepGoing: false, port: 8000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--build-only') flags.buildOnly = true;
    else if (arg === '--force') flags.force = true;
    else if (arg === '--keep-going') flags.keepGoing = true;
    else if (arg === '--port') {
      const raw = argv[++i];
      const port = Number(raw);
      if (raw === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
        throw new UsageError(
          `--port: expected a whole number from 0 to 65535, got ${raw === undefined ? 'nothing' : `"${raw}"`}`,
        );
      }
      flags.port = port;
    } else rest.push(arg);
  }
  const runner = parseRunnerArgs(rest, env);
  const outGiven = rest.includes('--out');
  return {
    ...flags,
    names: runner.names,
    fast: runner.fast,
    outDir: outGiven ? runner.outDir : join(COURSE_ROOT, 'build', 'book'),
    cellTimeoutMs: runner.cellTimeoutMs,
    notebookTimeoutMs: runner.notebookTimeoutMs,
    help: runner.help,
  };
}

/** The end-of-build table: each notebook, how it stands, and its time. */
export function buildTable(result: BookResult): string {
  const rows = result.chapters.map((c) => [
    c.name,
    c.status === 'not-run'
      ? 'not run'
      : c.cached
        ? `${c.status} (cached)`
        : c.status === 'failed'
          ? 'FAILED'
          : c.status,
    c.status === 'not-run' ? '' : `${c.seconds.toFixed(1)} s`,
  ]);
  return textTable(['notebook', 'status', 'time'], rows);
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  let options: BookCliOptions;
  let selected: string[];
  try {
    options = parseArgs(argv);
    if (options.help) {
      console.log(USAGE);
      return 0;
    }
    selected = resolveNames(options.names);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`book: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  // Notebooks named on the command line from elsewhere (e.g. a draft) join the course's.
  const course = courseNotebooks();
  const notebooks = [...course, ...selected.filter((p) => !course.includes(p))];
  const where = relative(process.cwd(), options.outDir) || '.';
  const mode = options.fast ? 'fast mode (ATTENTION_FAST=1)' : 'full course';
  console.error(`Building the course book (${notebooks.length} notebooks, ${mode}) in ${where}/`);
  const printer = progressPrinter(process.stderr);
  exitOnSignal(printer);

  const result = await buildBook({
    notebooks,
    selected,
    outDir: options.outDir,
    fast: options.fast,
    force: options.force,
    keepGoing: options.keepGoing,
    cellTimeoutMs: options.cellTimeoutMs,
    notebookTimeoutMs: options.notebookTimeoutMs,
    events: {
      ...printer,
      cached: (name, seconds) =>
        process.stderr.write(
          `= ${name} unchanged since its last run (${seconds.toFixed(1)} s): reused\n`,
        ),
      skipped: (name, reason) => process.stderr.write(`- ${name} not run: ${reason}\n`),
    },
  });
  printer.stop();

  const failed = result.chapters.filter((c) => c.status === 'failed');
  console.log('');
  for (const c of failed) {
    if (c.result) console.log(`${failureReport(c.result)}\n  page: ${join(where, c.page)}\n`);
  }
  for (const m of result.mathErrors) console.log(`warning: math that KaTeX cannot render, ${m}`);
  console.log(buildTable(result));
  const ran = result.chapters.filter((c) => c.status !== 'not-run' && !c.cached).length;
  console.log(
    `\nBook built in ${result.seconds.toFixed(1)} s (${ran} notebook(s) run, ${result.chapters.filter((c) => c.cached).length} reused): ${join(where, 'index.html')}`,
  );
  if (failed.length > 0) {
    console.log(
      `${failed.length} notebook(s) failed: the book shows the error in place; not serving it.`,
    );
    return 1;
  }
  if (options.buildOnly) return 0;

  const running = await serveBook(options.outDir, options.port);
  for (const signal of STOP_SIGNALS) process.removeAllListeners(signal);
  console.log(`\nThe course book is at ${running.url}  (Ctrl-C to stop)`);
  // Serving ends with Ctrl-C, which is the normal way out: exit 0.
  const signal = await new Promise<NodeJS.Signals>((stop) => {
    for (const s of STOP_SIGNALS) process.once(s, () => stop(s));
  });
  await running.close();
  console.log(`\n${signal}: stopped serving the book`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`book: ${err instanceof Error ? err.message : err}`);
      killAllKernels();
      process.exit(1);
    },
  );
}
