/**
 * Real worker threads for the wasm backend in Node: the second core.
 *
 * `@tensorflow/tfjs-backend-wasm` ships a threaded build (`tfjs-backend-wasm-threaded-simd.wasm`,
 * XNNPACK with a pthread pool) but never uses it in Node (its `WASM_HAS_MULTITHREAD_SUPPORT` flag
 * is hard-wired to `false` there), and forcing the flag fails: the emscripten glue creates each
 * pthread worker from a `blob:` URL, which Node's `Worker` cannot load, and hands the workers the
 * main script as a `Blob`, which the worker reads as a file path. Three more obstacles: the pool
 * size is computed as `cores / 2` capped at `cores / 2` (one thread on a two-core machine),
 * running pthreads `ref()` their worker (so the process never exits), and an error in a worker is
 * rethrown as an uncaught exception (so a failed start would kill a notebook kernel).
 *
 * `installWasmThreads` registers a wrapper around the package's `'wasm'` backend factory that, on
 * `tf.setBackend('wasm')`, starts the threaded build with these fixes, all from the outside
 * (nothing in `node_modules` is edited):
 *
 * - `globalThis.Worker` (which the glue sets to Node's `Worker` and then calls) becomes a subclass
 *   that, given the glue's `blob:` worker URL, evaluates the worker script the glue put in that
 *   `Blob` (captured while the backend starts) with `eval: true`, defines the bundle's module
 *   aliases (`require$$0 = require('fs')`, ...) the script needs, and loads the main script from
 *   `workerData` instead of the `Blob`; it never `ref()`s, and it reports worker errors to the
 *   start-up instead of throwing them;
 * - `os.cpus()` reports `2 x threads` cores while the module initialises (its static pool size);
 * - a time limit on the whole start-up: if the threads do not come up in time, or anything fails,
 *   the workers are terminated and the single-threaded SIMD build starts instead (the reason is
 *   kept for the backend summary line). A notebook never hangs on a failed start.
 */
import * as fs from 'node:fs';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';

// The module object itself (not a namespace copy): the glue reads `os.cpus()` from it.
const os = require('node:os') as typeof import('node:os');

/** The environment variable that sets the wasm thread count: `1` forces the single-threaded build. */
export const WASM_THREADS_ENV_VAR = 'ATTENTION_WASM_THREADS';

/** How long the threaded build may take to start before the single-threaded one is used. */
export const WASM_THREADS_START_TIMEOUT_MS = 15_000;

/**
 * The most threads the threaded build runs: it pre-creates 8 workers, and XNNPACK's pool is
 * capped at 8.
 */
export const MAX_WASM_THREADS = 8;

/** Threads used by default: all cores, at most 4 (more rarely pays for models of this size). */
const DEFAULT_MAX_THREADS = 4;

const WASM = 'wasm';
/** The priority `@tensorflow/tfjs-backend-wasm` registers its backend with. */
const WASM_PRIORITY = 2;
const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';
const MULTITHREAD_FLAG = 'WASM_HAS_MULTITHREAD_SUPPORT';
/** What the glue's main-script `Blob` starts with. */
const MAIN_SCRIPT_START = 'var WasmBackendModuleThreadedSimd';
/** The `urlOrBlob` a worker gets instead of the main-script `Blob`. */
const MAIN_SCRIPT_MARKER = 'attention-hands-on:wasm-threaded-main-script';

/** How many threads the wasm backend should run, and why not more. */
export interface WasmThreadsPlan {
  /** Threads of XNNPACK's pool to ask for (1 and no `loopHelper`: the single-threaded build). */
  threads: number;
  /**
   * Whether the course's own loops get a helper thread (`./loop-helper`): the threaded build runs
   * (its heap is shared) even with a pool of 1, and large products are split between two threads.
   */
  loopHelper: boolean;
  /** Why only one thread (`null` when more are planned, or when one was simply asked for). */
  reason: string | null;
  /** What chose the count: `'default'`, `'auto'` or `ATTENTION_WASM_THREADS=<n>`. */
  by: string;
}

/** What the last start of the wasm backend did about threads. */
export interface WasmThreadsStatus {
  /** Threads asked for. */
  requested: number;
  /** Whether the threaded build runs. */
  threaded: boolean;
  /** Whether the course's loops may start their helper thread (the threaded build runs for it). */
  loopHelper: boolean;
  /** Why the threaded build does not run although more than one thread was asked for, or `null`. */
  fallback: string | null;
  /** Milliseconds the threaded start-up took (or ran until it failed); `null` when not tried. */
  startMs: number | null;
}

/** Options of `installWasmThreads`. */
export interface WasmThreadsOptions {
  /** Threads of XNNPACK's pool (1 and no `loopHelper`: the single-threaded build, no workers). */
  threads: number;
  /**
   * Run the threaded build (a shared heap) so the course's loops can split products with a helper
   * thread, whatever the pool size. Default: the last one given, at first false.
   */
  loopHelper?: boolean;
  /**
   * Time limit of the threaded start-up, ms. Default: the last one given, at first
   * `WASM_THREADS_START_TIMEOUT_MS`.
   */
  timeoutMs?: number;
}

/** Whether Node's permission model (`--experimental-permission`) forbids worker threads. */
function workersForbidden(): boolean {
  const permission = (process as { permission?: { has(scope: string): boolean } }).permission;
  try {
    return permission !== undefined && !permission.has('worker');
  } catch {
    return false;
  }
}

/**
 * Whether the wasm backend uses the second core when `$ATTENTION_WASM_THREADS` is unset: the
 * threaded build with XNNPACK on one thread and the course's loops splitting large products with
 * a helper thread (`./loop-helper`). On the course's 2-core machine this made the mini-GPT step
 * ~0.8x and the seq2seq step 0.75-0.9x of the single-threaded build's time, with bit-identical
 * results, ~0.1 s more start-up and ~70 MB more memory; with the other core busy it was neither
 * faster nor slower. XNNPACK's own pool of 2 was no faster, and slower when the other core was
 * busy (README, "The second core"), so it stays at one thread unless asked for.
 */
export const WASM_THREADS_BY_DEFAULT = true;

/**
 * How many threads the wasm backend should run here: `$ATTENTION_WASM_THREADS` when set (`1` to
 * force the single-threaded build, `2` to `8` for XNNPACK's pool with the loops' helper, `auto`
 * for a pool of every core up to 4), else the default: on two or more cores a pool of 1 and the
 * loops' helper (`WASM_THREADS_BY_DEFAULT`). One thread and no helper when the machine has one
 * core, or when Node's permission model forbids worker threads (the grader's sandbox).
 *
 * @param env the environment to read (default `process.env`).
 * @returns the plan.
 * @throws when the variable is set to something other than `auto` or an integer 1-8.
 */
export function planWasmThreads(env: NodeJS.ProcessEnv = process.env): WasmThreadsPlan {
  if (env === null || typeof env !== 'object') {
    throw new TypeError(`planWasmThreads: expected env to be an object, got ${typeof env}`);
  }
  const raw = env[WASM_THREADS_ENV_VAR];
  const text = raw === undefined ? '' : raw.trim().toLowerCase();
  const one = (reason: string | null, by: string): WasmThreadsPlan => ({
    threads: 1,
    loopHelper: false,
    reason,
    by,
  });
  const cores = os.availableParallelism();
  let threads: number;
  let by: string;
  if (text === '') {
    by = 'default';
    if (!WASM_THREADS_BY_DEFAULT) return one(null, by);
    if (cores < 2) return one('one core', by);
    threads = 1;
  } else if (text === 'auto') {
    by = 'auto';
    threads = Math.min(cores, DEFAULT_MAX_THREADS);
    if (threads < 2) return one('one core', by);
  } else {
    const n = Number(text);
    if (!(Number.isInteger(n) && n >= 1 && n <= MAX_WASM_THREADS)) {
      throw new Error(
        `${WASM_THREADS_ENV_VAR}=${JSON.stringify(raw)} is not a thread count: expected an ` +
          `integer from 1 to ${MAX_WASM_THREADS}, or "auto" for every core up to ` +
          `${DEFAULT_MAX_THREADS}`,
      );
    }
    threads = n;
    by = `${WASM_THREADS_ENV_VAR}=${n}`;
    if (n === 1) return one(null, by);
  }
  if (workersForbidden()) return one("worker threads not permitted by Node's permission model", by);
  return { threads, loopHelper: true, reason: null, by };
}

/** The package's own `'wasm'` factory, kept so that the fallback can call it. */
let stockFactory: (() => unknown) | null = null;
/** The factory `installWasmThreads` registered. */
let ourFactory: (() => Promise<tf.KernelBackend>) | null = null;
let settings: Required<WasmThreadsOptions> = {
  threads: 1,
  loopHelper: false,
  timeoutMs: WASM_THREADS_START_TIMEOUT_MS,
};
let status: WasmThreadsStatus | null = null;

/** What the last `tf.setBackend('wasm')` did about threads (`null` before the first). */
export function wasmThreadsStatus(): WasmThreadsStatus | null {
  return status;
}

/**
 * Makes the next start of the `'wasm'` backend (`tf.setBackend('wasm')`) run `threads` threads,
 * falling back to the single-threaded build (with the reason in `wasmThreadsStatus()`) when the
 * threaded one fails or does not start within `timeoutMs`. Call it before the wasm backend first
 * starts: a started backend keeps its threads (this then does nothing). Calling it again only
 * changes the settings (`initBackend` calls it with the planned thread count; a `timeoutMs`
 * given before is kept).
 *
 * @param options `threads` (1 to `MAX_WASM_THREADS`) and `timeoutMs` (> 0).
 * @throws when an option is out of range, or when `@tensorflow/tfjs-backend-wasm` is not loaded.
 */
export function installWasmThreads(options: WasmThreadsOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`installWasmThreads: expected an options object, got ${typeof options}`);
  }
  const { threads, loopHelper = settings.loopHelper, timeoutMs = settings.timeoutMs } = options;
  if (typeof loopHelper !== 'boolean') {
    throw new TypeError(
      `installWasmThreads: expected loopHelper to be true or false, got ${String(loopHelper)}`,
    );
  }
  if (!(Number.isInteger(threads) && threads >= 1 && threads <= MAX_WASM_THREADS)) {
    throw new RangeError(
      `installWasmThreads: expected threads to be an integer from 1 to ${MAX_WASM_THREADS}, ` +
        `got ${String(threads)}`,
    );
  }
  if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
    throw new RangeError(
      `installWasmThreads: expected timeoutMs to be a finite number > 0, got ${String(timeoutMs)}`,
    );
  }
  settings = { threads, loopHelper, timeoutMs };
  // A started backend keeps its threads (and removing it would dispose its tensors).
  if (wasmBackendStarted()) return;
  const registered = tf.findBackendFactory(WASM) as (() => unknown) | null;
  if (registered === null) {
    throw new Error(
      `installWasmThreads: expected the '${WASM}' backend to be registered (require ` +
        `'${WASM_PACKAGE}' first), got no factory`,
    );
  }
  if (registered === ourFactory) return;
  stockFactory = registered;
  ourFactory = startWasm;
  tf.removeBackend(WASM);
  tf.registerBackend(WASM, ourFactory, WASM_PRIORITY);
}

/**
 * Whether the `'wasm'` backend has been initialised in this process. Unlike `tf.findBackend`,
 * asking does not start it.
 */
export function wasmBackendStarted(): boolean {
  return WASM in tf.engine().registry;
}

/** The factory: the threaded build if asked for and it starts, else the package's own. */
async function startWasm(): Promise<tf.KernelBackend> {
  const stock = stockFactory as () => Promise<tf.KernelBackend>;
  const wasm = require(WASM_PACKAGE) as typeof import('@tensorflow/tfjs-backend-wasm');
  const { threads, loopHelper, timeoutMs } = settings;
  if (threads === 1 && !loopHelper) {
    status = { requested: 1, threaded: false, loopHelper: false, fallback: null, startMs: null };
    tf.env().set(MULTITHREAD_FLAG, false);
    return stock();
  }
  const t0 = Date.now();
  const attempt = new ThreadedStart(threads, timeoutMs);
  try {
    const backend = await attempt.run(stock);
    status = {
      requested: threads,
      threaded: true,
      loopHelper,
      fallback: null,
      startMs: Date.now() - t0,
    };
    return backend;
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0].trim();
    status = {
      requested: threads,
      threaded: false,
      loopHelper: false,
      fallback: reason,
      startMs: Date.now() - t0,
    };
    tf.env().set(MULTITHREAD_FLAG, false);
    wasm.setThreadsCount(-1);
    return stock();
  }
}

/** The scripts the glue puts in `Blob`s, captured while the threaded build starts. */
interface Captured {
  worker: string | null;
  main: string | null;
}

/** `var require$$N = require('x');` lines of the package's Node bundle: what the scripts use. */
function bundleAliases(): string {
  const bundle = fs.readFileSync(require.resolve(WASM_PACKAGE), 'utf8');
  const lines: string[] = ['globalThis.commonjsGlobal = globalThis;'];
  for (const m of bundle.matchAll(/^var (require\$\$\d+) = require\('([\w:/_-]+)'\);$/gm)) {
    lines.push(`globalThis.${m[1]} = require(${JSON.stringify(m[2])});`);
  }
  return lines.join('\n');
}

/** One attempt to start the threaded build, with everything it patches and restores. */
class ThreadedStart {
  private readonly captured: Captured = { worker: null, main: null };
  private readonly workers = new Set<NodeWorker>();
  private abandoned = false;
  private onFailure: (err: Error) => void = () => undefined;

  constructor(
    private readonly threads: number,
    private readonly timeoutMs: number,
  ) {}

  /** Starts the threaded build through the package's factory; rejects on failure or time-out. */
  async run(stock: () => Promise<tf.KernelBackend>): Promise<tf.KernelBackend> {
    const wasm = require(WASM_PACKAGE) as typeof import('@tensorflow/tfjs-backend-wasm');
    const restore = this.patch();
    let timer: NodeJS.Timeout | undefined;
    try {
      tf.env().set(MULTITHREAD_FLAG, true);
      wasm.setThreadsCount(this.threads);
      const failed = new Promise<never>((_, reject) => {
        this.onFailure = reject;
        timer = setTimeout(
          () => reject(new Error(`the threads did not start within ${this.timeoutMs} ms`)),
          this.timeoutMs,
        );
      });
      // A failure reported after the race is settled must not become an unhandled rejection.
      failed.catch(() => undefined);
      const backend = await Promise.race([stock(), failed]);
      const got = wasm.getThreadsCount();
      if (got !== this.threads) {
        backend.dispose();
        throw new Error(`asked for ${this.threads} threads, the pool has ${got}`);
      }
      return backend;
    } catch (err) {
      this.abandon();
      throw err;
    } finally {
      clearTimeout(timer);
      restore();
    }
  }

  /** Stops every worker of a failed attempt, so that a late start can neither run nor hang. */
  private abandon(): void {
    this.abandoned = true;
    for (const w of this.workers) void w.terminate();
    this.workers.clear();
  }

  private fail(err: Error): void {
    this.onFailure(err);
  }

  /** Installs the patches the start-up needs; returns what undoes the temporary ones. */
  private patch(): () => void {
    const attempt = this;
    const captured = this.captured;
    let aliases: string | null = null;

    const OriginalBlob = globalThis.Blob;
    class CapturingBlob extends OriginalBlob {
      constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
        super(parts, options);
        const text = parts?.length === 1 && typeof parts[0] === 'string' ? parts[0] : null;
        if (text === null) return;
        if (text.startsWith(MAIN_SCRIPT_START)) captured.main = text;
        else if (text.includes('WasmBackendModuleThreadedSimd(Module)')) captured.worker = text;
      }
    }

    class PthreadWorker extends NodeWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        if (!(typeof url === 'string' && url.startsWith('blob:'))) {
          super(url, options);
          return;
        }
        if (captured.worker === null || captured.main === null) {
          throw new Error(
            'the threaded wasm glue changed: its worker or main script was not found in a Blob',
          );
        }
        aliases ??= bundleAliases();
        const loader =
          `;{const load = globalThis.importScripts;` +
          `const main = require('node:worker_threads').workerData.mainScript;` +
          `globalThis.importScripts = (f) => f === ${JSON.stringify(MAIN_SCRIPT_MARKER)} ` +
          `? (0, eval)(main) : load(f);}`;
        super(`${aliases}\n${captured.worker}\n${loader}`, {
          eval: true,
          workerData: { mainScript: captured.main },
        });
        attempt.workers.add(this);
        this.unref();
      }

      override postMessage(message: unknown, transfer?: readonly Transferable[]): void {
        const m = message as { cmd?: string; urlOrBlob?: unknown } | null;
        if (m?.cmd === 'load' && typeof m.urlOrBlob !== 'string') {
          message = { ...m, urlOrBlob: MAIN_SCRIPT_MARKER };
        }
        super.postMessage(message, transfer as never);
      }

      /** Running pthreads would keep the process alive: the main thread waits for them anyway. */
      override ref(): void {}

      override on(event: string | symbol, listener: (...args: any[]) => void): this {
        if (event === 'error') {
          // The glue rethrows a worker's error, which would crash the process: during start-up
          // it fails the attempt instead; later, it is reported without killing a kernel.
          return super.on(event, (e: Error) => {
            if (status?.threaded !== true) attempt.fail(new Error(`a wasm worker failed: ${e}`));
            else console.error(`wasm worker thread error: ${e?.stack ?? e}`);
          });
        }
        if (event === 'message') {
          return super.on(event, (...args: unknown[]) => {
            if (!attempt.abandoned) listener(...args);
          });
        }
        return super.on(event, listener);
      }
    }

    const workerBefore = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
    // The glue assigns Node's Worker to globalThis.Worker and then calls it: keep ours in place.
    Object.defineProperty(globalThis, 'Worker', {
      configurable: true,
      get: () => PthreadWorker,
      set: () => undefined,
    });
    (globalThis as { Blob: typeof Blob }).Blob = CapturingBlob;
    const cpus = os.cpus;
    const fakeCpus = (): import('node:os').CpuInfo[] => {
      const one = cpus()[0];
      return Array.from({ length: 2 * this.threads }, () => one);
    };
    os.cpus = fakeCpus;

    return () => {
      if (os.cpus === fakeCpus) os.cpus = cpus;
      if (globalThis.Blob === CapturingBlob)
        (globalThis as { Blob: typeof Blob }).Blob = OriginalBlob;
      if (!this.abandoned) {
        // Workers beyond the pre-created pool are made later with `new Worker`: keep ours.
        Object.defineProperty(globalThis, 'Worker', {
          configurable: true,
          writable: true,
          value: PthreadWorker,
        });
      } else if (workerBefore !== undefined) {
        Object.defineProperty(globalThis, 'Worker', workerBefore);
      } else {
        delete (globalThis as { Worker?: unknown }).Worker;
      }
    };
  }
}
