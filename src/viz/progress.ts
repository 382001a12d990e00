/**
 * A live progress display for training loops.
 *
 * In a notebook it is one output area redrawn in place (an HTML bar, no script) that ends as a
 * one-line summary, so the saved notebook holds only the summary. In a terminal it redraws one
 * line with '\r'; in a log (not a TTY, e.g. CI) it prints at most one line per 10% of the steps
 * plus the summary, so logs stay short.
 *
 * A loop stopped by Kernel > Interrupt cannot end its bar (tslab terminates synchronous code
 * without running `finally`), so the bar would freeze mid-way. The next `progress(...)` ends
 * every bar left open by an earlier task as `interrupted at step k/N`; `endInterruptedBars()`
 * does it on demand.
 */
import { currentTask } from '../train/interrupt';
import { DisplayHandle, inNotebook, type MimeBundle } from './display';
import { escapeXml, formatMetric, formatSeconds } from './format';
import { describeValue } from '../core/describe';

/** Options of `progress`. */
export interface ProgressOptions {
  /** Number of steps, a positive integer. */
  total: number;
  /** Shown before the status and the summary, e.g. 'training'. */
  label?: string;
  /** Minimum time between redraws, in ms. Defaults to 200. */
  throttleMs?: number;
  /** Clock in ms; injectable for tests. Defaults to `performance.now`. */
  now?: () => number;
  /** Terminal target. Defaults to `process.stderr`, which keeps stdout for results. */
  stream?: NodeJS.WritableStream;
  /** `'auto'` (default) picks 'notebook' inside a tslab kernel and 'terminal' elsewhere. */
  mode?: 'auto' | 'notebook' | 'terminal' | 'silent';
}

const MODES = ['auto', 'notebook', 'terminal', 'silent'];
/** Bars created or updated and not yet done (or marked interrupted). */
const openBars = new Set<Progress>();
const BAR_CHARS = 20;

function checkMetrics(metrics: unknown): Record<string, number> {
  if (metrics === undefined) return {};
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
    throw new TypeError(`metrics: expected an object of numbers, got ${describeValue(metrics)}`);
  }
  for (const [name, v] of Object.entries(metrics)) {
    // NaN is allowed: a loss that became NaN is exactly what the display should show.
    if (typeof v !== 'number') {
      throw new TypeError(`metrics: expected a number for "${name}", got ${describeValue(v)}`);
    }
  }
  return metrics as Record<string, number>;
}

function metricsText(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([name, v]) => ` · ${name} ${formatMetric(v)}`)
    .join('');
}

/** A progress display; create it with `progress({ total })`. */
export class Progress {
  private readonly total: number;
  private readonly label: string | undefined;
  private readonly throttleMs: number;
  private readonly now: () => number;
  private readonly stream: NodeJS.WritableStream;
  private readonly mode: 'notebook' | 'terminal' | 'silent';
  private readonly tty: boolean;
  private readonly start: number;
  private readonly handle: DisplayHandle | null;
  private step = 0;
  private metrics: Record<string, number> = {};
  private lastDraw: number | null = null;
  /** Last 10% mark printed to a non-TTY stream. */
  private lastTenth = 0;
  /** Length of the line last drawn on a TTY, to blank out what a shorter line leaves. */
  private lineLength = 0;
  private finalSummary: string | null = null;
  private interruptedSummary: string | null = null;
  /** Clock time and event-loop task of the last `update` (or of the start). */
  private lastUpdate: number;
  private lastTask: object;

  /** Prefer `progress(options)`. */
  constructor(options: ProgressOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(
        `progress: expected an options object { total }, got ${describeValue(options)}`,
      );
    }
    const { total, label, throttleMs = 200, now, stream = process.stderr, mode = 'auto' } = options;
    if (typeof total !== 'number' || !Number.isInteger(total) || total < 1) {
      throw new RangeError(`total: expected a positive integer, got ${describeValue(total)}`);
    }
    if (typeof throttleMs !== 'number' || !(throttleMs >= 0)) {
      throw new RangeError(`throttleMs: expected a number >= 0, got ${describeValue(throttleMs)}`);
    }
    if (!MODES.includes(mode)) {
      throw new Error(
        `mode: expected one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${describeValue(mode)}`,
      );
    }
    if (label !== undefined && typeof label !== 'string') {
      throw new TypeError(`label: expected a string, got ${describeValue(label)}`);
    }
    this.total = total;
    this.label = label;
    this.throttleMs = throttleMs;
    this.now = now ?? (() => performance.now());
    this.stream = stream;
    this.mode = mode === 'auto' ? (inNotebook() ? 'notebook' : 'terminal') : mode;
    this.tty = (stream as { isTTY?: boolean }).isTTY === true;
    this.handle = this.mode === 'notebook' ? new DisplayHandle() : null;
    this.start = this.now();
    this.lastUpdate = this.start;
    endInterruptedBars();
    this.lastTask = currentTask();
    openBars.add(this);
  }

  /**
   * Records that `step` of `total` steps are done (0..total) with the latest `metrics` (they
   * replace earlier values of the same name), and redraws when the throttle allows it.
   */
  update(step: number, metrics?: Record<string, number>): void {
    if (this.finalSummary !== null) throw new Error('progress: update() after done()');
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || step > this.total) {
      throw new RangeError(
        `step: expected an integer in [0, ${this.total}], got ${describeValue(step)}`,
      );
    }
    this.step = step;
    this.metrics = { ...this.metrics, ...checkMetrics(metrics) };
    const t = this.now();
    this.lastUpdate = t;
    this.lastTask = currentTask();
    if (this.interruptedSummary !== null) {
      // Marked interrupted, yet alive (an async loop that spans tasks): draw it again.
      this.interruptedSummary = null;
      this.lastDraw = null;
      openBars.add(this);
    }
    if (this.mode === 'silent') return;
    if (this.mode === 'terminal' && !this.tty) {
      // A log gets a line at each new 10% mark only.
      const tenth = Math.floor((step * 10) / this.total);
      if (tenth > this.lastTenth) {
        this.lastTenth = tenth;
        this.stream.write(`${this.statusText(t)}\n`);
      }
      return;
    }
    const due =
      this.lastDraw === null || t - this.lastDraw >= this.throttleMs || step === this.total;
    if (!due) return;
    this.lastDraw = t;
    if (this.handle) {
      this.handle.show(this.statusBundle(t));
    } else {
      const line = `${this.label ? `${this.label} ` : ''}${this.bar()} ${this.statusText(t, false)}`;
      this.stream.write(`\r${line.padEnd(this.lineLength)}`);
      this.lineLength = line.length;
    }
  }

  /**
   * Ends the display, replacing it with a summary such as
   * `training: 200 steps in 6.5 s · loss 0.0812 · acc 0.97` (`metrics` update the last ones).
   * Returns nothing, so a cell ending in `bar.done()` does not print the summary a second time;
   * read it from `summary`.
   */
  done(metrics?: Record<string, number>): void {
    if (this.finalSummary !== null) throw new Error('progress: done() was already called');
    openBars.delete(this);
    this.interruptedSummary = null;
    this.metrics = { ...this.metrics, ...checkMetrics(metrics) };
    const elapsed = this.now() - this.start;
    const n = this.step;
    const summary =
      `${this.label ? `${this.label}: ` : ''}${n} step${n === 1 ? '' : 's'} in ` +
      `${formatSeconds(elapsed)}${metricsText(this.metrics)}`;
    this.finalSummary = summary;
    if (this.handle) {
      this.handle.show({
        'text/html': `<div class="ah-progress" style="font:12px monospace">${escapeXml(summary)}</div>`,
        'text/plain': summary,
      });
    } else if (this.mode === 'terminal') {
      this.stream.write(
        this.tty && this.lastDraw !== null
          ? `\r${summary.padEnd(this.lineLength)}\n`
          : `${summary}\n`,
      );
    }
  }

  /** The summary line once `done()` was called, else `null`. */
  get summary(): string | null {
    return this.finalSummary;
  }

  /** The `... interrupted at step k/N ...` line while the bar is marked interrupted, else `null`. */
  get interruption(): string | null {
    return this.interruptedSummary;
  }

  /**
   * Ends the display as interrupted if the bar is open and its last update was in an earlier
   * task of the event loop (a synchronous loop cannot span tasks, so it was stopped).
   * Returns true when it did.
   * @internal used by `endInterruptedBars`
   */
  endIfStale(): boolean {
    if (this.finalSummary !== null || this.interruptedSummary !== null) return false;
    if (this.lastTask === currentTask()) return false;
    openBars.delete(this);
    const n = this.step;
    const line =
      `${this.label ? `${this.label}: ` : ''}interrupted at step ${n}/${this.total} after ` +
      `${formatSeconds(this.lastUpdate - this.start)}${metricsText(this.metrics)}`;
    this.interruptedSummary = line;
    if (this.handle) {
      this.handle.show({
        'text/html': `<div class="ah-progress" style="font:12px monospace">${escapeXml(line)}</div>`,
        'text/plain': line,
      });
    } else if (this.mode === 'terminal') {
      this.stream.write(
        this.tty && this.lastDraw !== null ? `\r${line.padEnd(this.lineLength)}\n` : `${line}\n`,
      );
    }
    return true;
  }

  /** `step 37/200 · loss 0.4123 · 1.2 s elapsed · ETA 5.3 s`, with the label in front if asked. */
  private statusText(t: number, withLabel = true): string {
    const elapsed = t - this.start;
    // ETA from the mean time per step so far; unknown before the first step is done.
    const eta =
      this.step > 0 && this.step < this.total
        ? ` · ETA ${formatSeconds((elapsed / this.step) * (this.total - this.step))}`
        : '';
    const prefix = withLabel && this.label ? `${this.label}: ` : '';
    return (
      `${prefix}step ${this.step}/${this.total}${metricsText(this.metrics)} · ` +
      `${formatSeconds(elapsed)} elapsed${eta}`
    );
  }

  private bar(): string {
    const filled = Math.round((this.step / this.total) * BAR_CHARS);
    const pct = Math.floor((this.step / this.total) * 100);
    return `[${'#'.repeat(filled)}${'-'.repeat(BAR_CHARS - filled)}] ${String(pct).padStart(3)}%`;
  }

  private statusBundle(t: number): MimeBundle {
    const text = this.statusText(t);
    const pct = ((this.step / this.total) * 100).toFixed(1);
    const html =
      '<div class="ah-progress" style="font:12px monospace">' +
      '<div style="display:inline-block;vertical-align:middle;width:200px;height:10px;' +
      'background:#e5e5e5;border-radius:3px;overflow:hidden;margin-right:8px">' +
      `<div style="width:${pct}%;height:100%;background:#4c78a8"></div></div>` +
      `${escapeXml(text)}</div>`;
    return { 'text/html': html, 'text/plain': text };
  }
}

/**
 * Ends every progress display left open by code that an interrupt (Kernel > Interrupt) or an
 * error stopped in an earlier task, replacing its bar with `label: interrupted at step k/N after
 * T s · metrics`. `progress(...)` calls it, so running the cell again is enough. A bar that is
 * updated again afterwards (an asynchronous loop) is simply drawn again.
 * @returns how many displays it ended
 */
export function endInterruptedBars(): number {
  let n = 0;
  for (const bar of [...openBars]) if (bar.endIfStale()) n++;
  return n;
}

/**
 * Starts a progress display for a loop of `total` steps:
 *
 * ```ts
 * const bar = progress({ total: steps, label: 'training' });
 * for (let i = 1; i <= steps; i++) { const loss = trainStep(); bar.update(i, { loss }); }
 * bar.done({ acc });
 * ```
 */
export function progress(options: ProgressOptions): Progress {
  return new Progress(options);
}
