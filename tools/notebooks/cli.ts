/**
 * `npm run notebooks -- [names...] [options]`: run course notebooks headlessly in the tslab kernel.
 * Exits 1 if any notebook failed, 2 on bad usage, 130 when interrupted.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { isFastMode } from '../../src/course/fast-mode';
import { UsageError } from '../command';
import { killAllKernels } from './kernel';
import {
  DEFAULT_CELL_TIMEOUT_MS,
  DEFAULT_NOTEBOOK_TIMEOUT_MS,
  resultsTable,
  runNotebooks,
  type NotebookResult,
  type RunnerEvents,
} from './runner';

const ROOT = resolve(__dirname, '..', '..');
const NOTEBOOKS = join(ROOT, 'notebooks');

const USAGE = `usage: npm run notebooks -- [names...] [options]

Runs notebooks in a fresh tslab kernel each, writes the executed copies to the output folder
(the notebooks themselves are never modified) and exits non-zero if any fails.

  names                 notebook files, or names / number prefixes in notebooks/ (e.g. 01)
                        default: every notebook in notebooks/
  --fast                shrink training (sets ATTENTION_FAST=1 in the kernel), for tests
  --out DIR             where executed copies go (default: build/notebooks)
  --cell-timeout SEC    longest one cell may run (default: ${DEFAULT_CELL_TIMEOUT_MS / 1000})
  --notebook-timeout SEC  longest one notebook may run (default: ${DEFAULT_NOTEBOOK_TIMEOUT_MS / 1000})
  -h, --help            show this help`;

export interface CliOptions {
  names: string[];
  fast: boolean;
  outDir: string;
  cellTimeoutMs: number;
  notebookTimeoutMs: number;
  help: boolean;
}

/** Parses the command line; throws a UsageError naming the bad argument. */
export function parseArgs(argv: string[], env = process.env): CliOptions {
  const options: CliOptions = {
    names: [],
    fast: isFastMode(env),
    outDir: join(ROOT, 'build', 'notebooks'),
    cellTimeoutMs: DEFAULT_CELL_TIMEOUT_MS,
    notebookTimeoutMs: DEFAULT_NOTEBOOK_TIMEOUT_MS,
    help: false,
  };
  const value = (flag: string, i: number): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const secondsArg = (flag: string, i: number): number => {
    const v = Number(value(flag, i));
    if (!Number.isFinite(v) || v <= 0) {
      throw new UsageError(`${flag}: expected a positive number of seconds, got "${argv[i + 1]}"`);
    }
    return v * 1000;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--fast') options.fast = true;
    else if (arg === '-h' || arg === '--help') options.help = true;
    else if (arg === '--out') options.outDir = resolve(value(arg, i++));
    else if (arg === '--cell-timeout') options.cellTimeoutMs = secondsArg(arg, i++);
    else if (arg === '--notebook-timeout') options.notebookTimeoutMs = secondsArg(arg, i++);
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else options.names.push(arg);
  }
  return options;
}

/** The course notebooks, in chapter order. */
export function courseNotebooks(dir = NOTEBOOKS): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb') && !f.startsWith('.'))
    .sort()
    .map((f) => join(dir, f));
}

/** Resolves each name to a notebook file: a path, an exact name, or a unique prefix ("01"). */
export function resolveNames(names: string[], dir = NOTEBOOKS): string[] {
  const available = courseNotebooks(dir);
  if (names.length === 0) return available;
  return names.map((name) => {
    if (name.endsWith('.ipynb') || name.includes('/')) {
      if (!existsSync(name)) throw new UsageError(`no notebook file ${name}`);
      return resolve(name);
    }
    const matches = available.filter(
      (p) => basename(p, '.ipynb') === name || basename(p).startsWith(name),
    );
    if (matches.length === 1) return matches[0];
    const list = available.map((p) => `  ${basename(p, '.ipynb')}`).join('\n') || '  (none yet)';
    if (matches.length === 0)
      throw new UsageError(`no notebook matches "${name}"; notebooks:\n${list}`);
    throw new UsageError(
      `"${name}" matches ${matches.length} notebooks; be more specific:\n${list}`,
    );
  });
}

/** Progress for people: a live line on a terminal, one line per cell in logs (CI). */
export function progressPrinter(stream: NodeJS.WriteStream): RunnerEvents & { stop(): void } {
  const live = Boolean(stream.isTTY);
  let current = '';
  let cellStarted = 0;
  let status = '';
  let ticker: NodeJS.Timeout | undefined;
  const draw = () => {
    const secs = ((Date.now() - cellStarted) / 1000).toFixed(1);
    const line = `  ${current}  ${status}  ${secs} s`;
    stream.write(`\r\x1b[K${line.slice(0, (stream.columns || 100) - 1)}`);
  };
  return {
    notebookStart(name, codeCells) {
      current = name;
      stream.write(`▸ ${name} (${codeCells} code cells)\n`);
    },
    cellStart(cell, codeIndex, codeCells, firstLine) {
      cellStarted = Date.now();
      status = `cell ${cell} (${codeIndex}/${codeCells})  ${firstLine.trim().slice(0, 60)}`;
      if (live) {
        draw();
        clearInterval(ticker);
        ticker = setInterval(draw, 250);
        ticker.unref();
      }
    },
    cellEnd(cell, result) {
      if (live) {
        clearInterval(ticker);
        stream.write('\r\x1b[K');
      } else {
        stream.write(`  cell ${cell}  ${result.status}  ${(result.ms / 1000).toFixed(1)} s\n`);
      }
    },
    notebookEnd(result) {
      const mark = result.status === 'passed' ? '✓' : '✗';
      stream.write(
        `${mark} ${result.name} ${result.status} (${result.cellsRun}/${result.codeCells} cells, ${(result.ms / 1000).toFixed(1)} s)\n`,
      );
    },
    stop() {
      clearInterval(ticker);
    },
  };
}

/** The signals that stop a command-line run. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** On Ctrl-C (or SIGTERM/SIGHUP) while notebooks run: stop the progress line, kill every kernel, exit 130. */
export function exitOnSignal(printer: { stop(): void }): void {
  const onSignal = (signal: NodeJS.Signals) => {
    printer.stop();
    process.stderr.write(`\n${signal}: stopping the kernel(s) and exiting\n`);
    killAllKernels();
    process.exit(130);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
}

/** The failure report of one notebook: where, what the cell starts with, and the error. */
export function failureReport(result: NotebookResult, root = ROOT): string {
  const f = result.failure;
  if (!f) return '';
  const where = f.cell ? `, cell ${f.cell}` : '';
  const lines = [`FAILED ${relative(root, result.path)}${where}: ${f.kind}`];
  if (f.preview) lines.push(...f.preview.split('\n').map((l) => `    > ${l}`));
  lines.push(...f.message.split('\n').map((l) => `  ${l}`));
  if (result.outPath) lines.push(`  executed copy: ${relative(root, result.outPath)}`);
  return lines.join('\n');
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  let options: CliOptions;
  let paths: string[];
  try {
    options = parseArgs(argv);
    if (options.help) {
      console.log(USAGE);
      return 0;
    }
    paths = resolveNames(options.names);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`notebooks: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (paths.length === 0) {
    console.log(
      `no notebooks in ${relative(process.cwd(), NOTEBOOKS) || '.'}/ yet: nothing to run`,
    );
    return 0;
  }
  const started = Date.now();
  const mode = options.fast ? 'fast mode (ATTENTION_FAST=1)' : 'full course';
  console.error(
    `Running ${paths.length} notebook(s), ${mode}; executed copies go to ${relative(process.cwd(), options.outDir)}/`,
  );
  const printer = progressPrinter(process.stderr);
  exitOnSignal(printer);

  const results = await runNotebooks(paths, {
    outDir: options.outDir,
    fast: options.fast,
    cellTimeoutMs: options.cellTimeoutMs,
    notebookTimeoutMs: options.notebookTimeoutMs,
    events: printer,
  });
  printer.stop();
  const failed = results.filter((r) => r.status === 'failed');
  console.log('');
  for (const r of failed) console.log(`${failureReport(r)}\n`);
  console.log(resultsTable(results, ROOT));
  const total = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `\n${results.length - failed.length} notebook(s) passed, ${failed.length} failed, in ${total} s`,
  );
  return failed.length > 0 ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`notebooks: ${err instanceof Error ? err.stack : err}`);
      killAllKernels();
      process.exit(1);
    },
  );
}
