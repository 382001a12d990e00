/**
 * The headless notebook runner: executes a notebook cell by cell in a real tslab kernel, decides
 * pass or fail itself (tslab reports errors as stderr text and silently cancels requests after an
 * error), and writes the executed copy to a build folder. The source notebook is never written.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { FAST_ENV_VAR } from '../../src/course/fast-mode';
import { describeExit, Kernel, type ExecuteResult } from './kernel';
import {
  joinSource,
  readNotebook,
  splitLines,
  streamText,
  type CodeCell,
  type Notebook,
} from './nbformat';

/** Why a notebook failed. */
export type FailureKind =
  | 'runtime error'
  | 'type error'
  | 'cell timeout'
  | 'notebook timeout'
  | 'cancelled by the kernel'
  | 'kernel died'
  | 'kernel did not start'
  | 'unreadable notebook';

export interface CellFailure {
  kind: FailureKind;
  /** 1-based position of the cell in the notebook (markdown cells count), or 0 for the notebook. */
  cell: number;
  /** First lines of the cell's source. */
  preview: string;
  /** The error as a reader needs it: the message, then the relevant output. */
  message: string;
}

export interface NotebookResult {
  name: string;
  path: string;
  /** Where the executed copy was written (absent if the notebook could not be read). */
  outPath?: string;
  status: 'passed' | 'failed';
  codeCells: number;
  cellsRun: number;
  failure?: CellFailure;
  ms: number;
}

export interface RunnerEvents {
  notebookStart?(name: string, codeCells: number): void;
  cellStart?(cell: number, codeIndex: number, codeCells: number, preview: string): void;
  cellEnd?(cell: number, result: ExecuteResult): void;
  notebookEnd?(result: NotebookResult): void;
}

export interface RunOptions {
  /** Folder for executed copies; a notebook `x/y.ipynb` is written as `<outDir>/y.ipynb`. */
  outDir: string;
  /** Sets ATTENTION_FAST=1 in the kernel. Defaults to false (the full course). */
  fast?: boolean;
  /** Longest a single cell may run. Defaults to 5 minutes. */
  cellTimeoutMs?: number;
  /** Longest a whole notebook may run. Defaults to 20 minutes. */
  notebookTimeoutMs?: number;
  /** Extra environment variables for the kernel. */
  env?: Record<string, string>;
  /** Stored as `metadata.attention_runner.cache_key`, for tools that reuse executed copies. */
  cacheKey?: string;
  events?: RunnerEvents;
}

export const DEFAULT_CELL_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_NOTEBOOK_TIMEOUT_MS = 20 * 60_000;

/** The first `lines` non-empty lines of a cell, for messages. */
export function preview(source: string, lines = 2): string {
  return source
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(0, lines)
    .join('\n');
}

/** tslab prints compile diagnostics as "line:col - message". */
const DIAGNOSTIC = /^\d+:\d+ - /;
/** What tslab prints for errors thrown after a cell finished (timers, promises). */
const ASYNC_FAILURE = /^(UncaughtException|UnhandledPromiseRejection):/m;

/**
 * Turns a failed execution into a message: for compile errors, each diagnostic with the line it
 * points at; for runtime errors, the error line(s) without tslab's and Node's internal frames.
 */
export function describeError(
  source: string,
  stderr: string,
): { kind: FailureKind; message: string } {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  if (lines.length > 0 && lines.every((l) => DIAGNOSTIC.test(l))) {
    const srcLines = source.split('\n');
    const message = lines
      .map((l) => {
        const line = Number(l.split(':')[0]);
        const code = srcLines[line - 1]?.trim();
        return code ? `${l}\n    > ${code}` : l;
      })
      .join('\n');
    return { kind: 'type error', message };
  }
  const errorAt = lines.findIndex((l) => /^\s*(\w*(Error|Exception)\b|Uncaught|Unhandled)/.test(l));
  const relevant = (errorAt >= 0 ? lines.slice(errorAt) : lines)
    .filter((l) => !/^\s+at .*(node:|node_modules[\\/]tslab|sigintHandlersWrap)/.test(l))
    .slice(0, 8);
  return {
    kind: 'runtime error',
    message: relevant.join('\n') || '(the kernel reported an error without a message)',
  };
}

/**
 * Runs one notebook. Never throws for a failing notebook: the failure is in the result. The kernel
 * is shut down before this resolves, whatever happened.
 */
export async function runNotebook(path: string, options: RunOptions): Promise<NotebookResult> {
  const started = Date.now();
  const absPath = resolve(path);
  const name = basename(absPath, '.ipynb');
  const events = options.events ?? {};
  const finish = (result: Omit<NotebookResult, 'ms' | 'name' | 'path'>): NotebookResult => {
    const full: NotebookResult = { name, path: absPath, ...result, ms: Date.now() - started };
    events.notebookEnd?.(full);
    return full;
  };

  let nb: Notebook;
  try {
    nb = readNotebook(absPath);
  } catch (err) {
    events.notebookStart?.(name, 0);
    const failure: CellFailure = {
      kind: 'unreadable notebook',
      cell: 0,
      preview: '',
      message: (err as Error).message,
    };
    return finish({ status: 'failed', codeCells: 0, cellsRun: 0, failure });
  }
  const outPath = outputPathFor(absPath, options.outDir);
  const codeCells = nb.cells.filter((c): c is CodeCell => c.cell_type === 'code');
  for (const cell of codeCells) {
    cell.outputs = [];
    cell.execution_count = null;
  }
  events.notebookStart?.(name, codeCells.length);

  const cellTimeout = options.cellTimeoutMs ?? DEFAULT_CELL_TIMEOUT_MS;
  const deadline = started + (options.notebookTimeoutMs ?? DEFAULT_NOTEBOOK_TIMEOUT_MS);
  const env = { ...options.env, [FAST_ENV_VAR]: options.fast ? '1' : '0' };
  let failure: CellFailure | undefined;
  let cellsRun = 0;
  let kernel: Kernel | undefined;
  try {
    kernel = await Kernel.start({ cwd: dirname(absPath), env });
  } catch (err) {
    failure = {
      kind: 'kernel did not start',
      cell: 0,
      preview: '',
      message: (err as Error).message,
    };
  }

  if (kernel) {
    try {
      let codeIndex = 0;
      for (const [i, cell] of nb.cells.entries()) {
        if (cell.cell_type !== 'code') continue;
        codeIndex++;
        const source = joinSource(cell.source);
        if (source.trim() === '') continue;
        const cellNo = i + 1;
        const remaining = deadline - Date.now();
        const limitedByNotebook = remaining < cellTimeout;
        events.cellStart?.(cellNo, codeIndex, codeCells.length, preview(source, 1));
        const result = await kernel.execute(source, cell.outputs, {
          timeoutMs: Math.max(1, Math.min(cellTimeout, remaining)),
        });
        cell.execution_count = result.executionCount;
        cellsRun++;
        events.cellEnd?.(cellNo, result);
        failure = judge(result, source, cellNo, {
          limitedByNotebook,
          cellTimeout,
          notebookTimeout: options.notebookTimeoutMs ?? DEFAULT_NOTEBOOK_TIMEOUT_MS,
          kernel,
        });
        if (failure) break;
      }
    } finally {
      await kernel.shutdown();
    }
  }

  const status = failure ? 'failed' : 'passed';
  nb.metadata.attention_runner = {
    status,
    fast: Boolean(options.fast),
    cells_run: cellsRun,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    ...(options.cacheKey ? { cache_key: options.cacheKey } : {}),
    ...(failure ? { failure } : {}),
  };
  writeExecuted(nb, outPath);
  return finish({ status, outPath, codeCells: codeCells.length, cellsRun, failure });
}

/** Pass or fail for one executed cell. A cell is only a pass if the kernel said "ok" and printed no asynchronous failure. */
function judge(
  result: ExecuteResult,
  source: string,
  cell: number,
  ctx: { limitedByNotebook: boolean; cellTimeout: number; notebookTimeout: number; kernel: Kernel },
): CellFailure | undefined {
  const at = { cell, preview: preview(source) };
  const stderr = streamText(result.outputs, 'stderr');
  switch (result.status) {
    case 'ok': {
      const asyncFailure = ASYNC_FAILURE.exec(stderr);
      if (!asyncFailure) return undefined;
      const message = stderr.slice(asyncFailure.index).split('\n').slice(0, 6).join('\n');
      return {
        kind: 'runtime error',
        ...at,
        message: `an asynchronous error (a timer or promise, possibly from an earlier cell):\n${message}`,
      };
    }
    case 'error':
      return { ...at, ...describeError(source, stderr) };
    case 'abort':
      return {
        kind: 'cancelled by the kernel',
        ...at,
        message:
          'tslab cancelled this cell without running it (it does so after an error); it did not pass',
      };
    case 'timeout':
      return ctx.limitedByNotebook
        ? {
            kind: 'notebook timeout',
            ...at,
            message: `the notebook ran longer than its ${seconds(ctx.notebookTimeout)} limit; stopped in this cell`,
          }
        : {
            kind: 'cell timeout',
            ...at,
            message: `the cell ran longer than its ${seconds(ctx.cellTimeout)} limit and was stopped`,
          };
    case 'died': {
      const exit = ctx.kernel.exit;
      const log = ctx.kernel.log.trim().split('\n').slice(-6).join('\n');
      return {
        kind: 'kernel died',
        ...at,
        message: `the kernel process ended during this cell (${exit ? describeExit(exit) : 'unknown'})${log ? `:\n${log}` : ''}`,
      };
    }
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** `<outDir>/<name>.ipynb`, refusing to point at the source itself. */
export function outputPathFor(source: string, outDir: string): string {
  const out = resolve(outDir, basename(source));
  if (out === resolve(source)) {
    throw new Error(
      `refusing to overwrite the source notebook ${source}: choose an output folder other than ${outDir}`,
    );
  }
  return out;
}

/**
 * nbformat's usual layout (one-space indent), except that arrays of numbers stay on one line:
 * plotly figures hold thousands of numbers, and one per line doubles the file's size.
 */
export function notebookJson(nb: Notebook): string {
  const NUM = '-?\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?';
  const numericArray = new RegExp(`\\[\\n\\s*(${NUM}(?:,\\n\\s*${NUM})*)\\n\\s*\\]`, 'g');
  return JSON.stringify(nb, null, 1).replace(
    numericArray,
    (_, inner: string) => `[${inner.replace(/,\n\s*/g, ',')}]`,
  );
}

/** Writes atomically, with sources and text outputs in nbformat's list-of-lines form. */
function writeExecuted(nb: Notebook, outPath: string): void {
  for (const cell of nb.cells) {
    cell.source = splitLines(joinSource(cell.source));
    if (cell.cell_type === 'code') {
      for (const out of cell.outputs) {
        if (out.output_type === 'stream') out.text = splitLines(joinSource(out.text));
      }
    }
  }
  mkdirSync(dirname(outPath), { recursive: true });
  const tmp = `${outPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${notebookJson(nb)}\n`);
  renameSync(tmp, outPath);
}

/** Runs notebooks one after the other (each in a fresh kernel). */
export async function runNotebooks(
  paths: string[],
  options: RunOptions,
): Promise<NotebookResult[]> {
  const results: NotebookResult[] = [];
  for (const path of paths) results.push(await runNotebook(path, options));
  return results;
}

/** A plain-text table of results, for the end of a run. */
export function resultsTable(results: NotebookResult[], root = process.cwd()): string {
  const rows = results.map((r) => [
    relative(root, r.path) || r.path,
    r.status === 'passed' ? 'passed' : 'FAILED',
    `${r.cellsRun}/${r.codeCells}`,
    `${(r.ms / 1000).toFixed(1)} s`,
    r.failure ? `${r.failure.cell ? `cell ${r.failure.cell}: ` : ''}${r.failure.kind}` : '',
  ]);
  return textTable(['notebook', 'status', 'cells', 'time', 'problem'], rows);
}

/** Left-aligned columns two spaces apart, with a dashed rule under the header. */
export function textTable(header: string[], rows: string[][]): string {
  for (const row of rows) {
    if (row.length !== header.length) {
      throw new RangeError(`textTable: expected rows of ${header.length} cells, got ${row.length}`);
    }
  }
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (row: string[]) =>
    row
      .map((v, c) => v.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
