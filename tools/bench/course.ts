/**
 * `npm run bench -- course`: runs every course notebook in the real tslab kernel, in the default
 * (full) mode and in fast mode, and reports each one's wall time and the kernel's peak memory.
 *
 * Peak memory is the kernel process's `VmHWM` (its resident-set high-water mark, kept by Linux in
 * `/proc/<pid>/status`). The kernel is a child of this process started by the notebook runner; it
 * is found by its parent pid and its command line (`kernel-launcher.cjs`), read every 100 ms and
 * after every cell, so at most the last 100 ms of a notebook (after its last cell) go unseen.
 * Where `/proc` does not exist the peak is `null` and printed as "n/a".
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { courseNotebooks } from '../notebooks/cli';
import { runNotebook, type NotebookResult } from '../notebooks/runner';

/** The modes a notebook runs in: full training, or shrunk to seconds (`ATTENTION_FAST=1`). */
export type CourseMode = 'default' | 'fast';

/** One notebook in one mode. */
export interface CourseRow {
  notebook: string;
  mode: CourseMode;
  status: NotebookResult['status'];
  seconds: number;
  /** The kernel's peak resident memory in MiB, or null where it cannot be read. */
  peakMiB: number | null;
  /** Why it failed: the failure kind and the cell. */
  failure?: string;
}

/** Parses `VmHWM` (kB) from the text of `/proc/<pid>/status`, in MiB; null if absent. */
export function parseVmHwm(status: string): number | null {
  if (typeof status !== 'string') {
    throw new TypeError(`status: expected the text of /proc/<pid>/status, got ${typeof status}`);
  }
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return match === null ? null : Number(match[1]) / 1024;
}

/** Pids of this process's children whose command line contains `marker`, from `/proc`. */
export function childPids(marker: string, parent = process.pid): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    try {
      // the command name in field 2 may hold spaces and parentheses: fields follow the last ')'
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) {
        pids.push(Number(entry));
      }
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Follows the peak `VmHWM` of the notebook kernels this process starts. */
class PeakWatcher {
  private peak: number | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sample(), 100);
  }

  sample(): void {
    for (const pid of childPids('kernel-launcher')) {
      try {
        const mib = parseVmHwm(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (mib !== null) this.peak = Math.max(this.peak ?? 0, mib);
      } catch {
        // the kernel ended between the listing and the read
      }
    }
  }

  /** The peak since the last call, and start over. */
  take(): number | null {
    this.sample();
    const peak = this.peak;
    this.peak = null;
    return peak;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Options of `courseTiming`. */
export interface CourseOptions {
  /** Notebook files; defaults to every notebook of notebooks/. */
  notebooks?: string[];
  /** Defaults to both, default mode first. */
  modes?: CourseMode[];
  /** Where the executed copies go; defaults to a temporary folder, removed afterwards. */
  outDir?: string;
  log?: (message: string) => void;
}

/**
 * Runs each notebook in each mode, one kernel at a time, and returns a row for each. A failing
 * notebook is a row with status `failed`, not an exception.
 */
export async function courseTiming(options: CourseOptions = {}): Promise<CourseRow[]> {
  const notebooks = options.notebooks ?? courseNotebooks();
  const modes = options.modes ?? ['default', 'fast'];
  for (const mode of modes) {
    if (mode !== 'default' && mode !== 'fast') {
      throw new RangeError(`modes: expected 'default' or 'fast', got ${String(mode)}`);
    }
  }
  const log = options.log ?? (() => undefined);
  const outDir = options.outDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-course-'));
  const watcher = new PeakWatcher();
  const rows: CourseRow[] = [];
  try {
    for (const mode of modes) {
      for (const notebook of notebooks) {
        log(`course: ${path.basename(notebook)}, ${mode} mode...`);
        watcher.take();
        const result = await runNotebook(notebook, {
          outDir: path.join(outDir, mode),
          fast: mode === 'fast',
          events: { cellEnd: () => watcher.sample() },
        });
        rows.push({
          notebook: result.name,
          mode,
          status: result.status,
          seconds: result.ms / 1000,
          peakMiB: watcher.take(),
          ...(result.failure && {
            failure: `${result.failure.kind} in cell ${result.failure.cell}`,
          }),
        });
      }
    }
  } finally {
    watcher.stop();
    if (options.outDir === undefined) fs.rmSync(outDir, { recursive: true, force: true });
  }
  return rows;
}

/** Per mode: the summed time, the largest kernel peak, and how many notebooks failed. */
export function courseTotals(
  rows: CourseRow[],
): Record<string, { seconds: number; peakMiB: number | null; failed: number }> {
  const totals: Record<string, { seconds: number; peakMiB: number | null; failed: number }> = {};
  for (const r of rows) {
    const t = (totals[r.mode] ??= { seconds: 0, peakMiB: null, failed: 0 });
    t.seconds += r.seconds;
    if (r.peakMiB !== null) t.peakMiB = Math.max(t.peakMiB ?? 0, r.peakMiB);
    if (r.status === 'failed') t.failed++;
  }
  return totals;
}

/**
 * The course table: one line per notebook with its time and peak memory in each mode, then the
 * totals (sum of times, largest peak) per mode.
 */
export function courseTable(rows: CourseRow[]): string[][] {
  const modes = [...new Set(rows.map((r) => r.mode))];
  const notebooks = [...new Set(rows.map((r) => r.notebook))];
  const mib = (m: number | null) => (m === null ? 'n/a' : `${m.toFixed(0)} MiB`);
  const cell = (r: CourseRow | undefined) =>
    r === undefined
      ? ['-', '-']
      : [
          `${r.seconds.toFixed(1)} s${r.status === 'failed' ? ` (FAILED: ${r.failure})` : ''}`,
          mib(r.peakMiB),
        ];
  const header = ['notebook', ...modes.flatMap((m) => [`${m}: time`, `${m}: peak RSS`])];
  const body = notebooks.map((n) => [
    n,
    ...modes.flatMap((m) => cell(rows.find((r) => r.notebook === n && r.mode === m))),
  ]);
  const totals = [
    'total',
    ...modes.flatMap((m) => {
      const t = courseTotals(rows)[m];
      return [
        `${t.seconds.toFixed(1)} s${t.failed > 0 ? ` (${t.failed} failed)` : ''}`,
        t.peakMiB === null ? 'n/a' : `max ${mib(t.peakMiB)}`,
      ];
    }),
  ];
  return [header, ...body, totals];
}
