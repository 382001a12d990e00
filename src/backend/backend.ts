/**
 * Picks and starts the TensorFlow.js backend: one call that every notebook, test and tool makes
 * first, so that they all compute on the same backend and print the same one-line explanation.
 *
 * Order: native TensorFlow (`@tensorflow/tfjs-node`, an optional dependency that often cannot be
 * installed: its install script downloads libtensorflow), then WebAssembly (with the kernel fixes
 * of `./wasm-fixes`), then plain JavaScript (`cpu`). `ATTENTION_BACKEND=native|wasm|cpu` forces one.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  installWasmFixes,
  installedWasmFixes,
  silenceCpuNodeHint,
  uninstallWasmFixes,
} from './wasm-fixes';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { loopHelper } from './small-matmul';
import {
  installWasmThreads,
  planWasmThreads,
  wasmBackendStarted,
  wasmThreadsStatus,
} from './wasm-threads';

/** What the course calls a backend. */
export type BackendName = 'native' | 'wasm' | 'cpu';

/** Every backend name, fastest first: the order `initBackend` tries them in. */
export const BACKEND_NAMES: readonly BackendName[] = ['native', 'wasm', 'cpu'];

/** The environment variable that forces a backend. */
export const BACKEND_ENV_VAR = 'ATTENTION_BACKEND';

/** What `initBackend` started, and why. */
export interface BackendInfo {
  /** What the course calls it. */
  name: BackendName;
  /** `tf.getBackend()`: `'tensorflow'`, `'wasm'` or `'cpu'`. */
  tfBackend: string;
  /** Whether WebAssembly SIMD is used (`null` when the backend is not wasm). */
  simd: boolean | null;
  /** Threads doing the math: wasm's thread count, 1 for cpu, the core count for native. */
  threads: number;
  /** The wasm fixes installed, e.g. `['matMul', 'UnsortedSegmentSum', ...]` (empty off wasm). */
  fixes: string[];
  /** Why a faster backend was not used, e.g. `'@tensorflow/tfjs-node is not installed'`. */
  notes: string[];
  /** The one line `initBackend` printed. */
  summary: string;
}
// The same object is returned to every caller until the backend changes: treat it as read-only.

/** Options of `initBackend`. */
export interface InitBackendOptions {
  /** Force a backend. Default: `$ATTENTION_BACKEND`, else the fastest that starts. */
  prefer?: BackendName;
  /** Install the wasm fixes (see `./wasm-fixes`) when the backend is wasm. Default `true`. */
  wasmFixes?: boolean;
  /** Where the summary line goes. Default `console.log`; `false` prints nothing. */
  log?: ((line: string) => void) | false;
}

/** How the summary line starts; `parseBackendSummary` reads it back. */
const SUMMARY_PREFIX = 'backend: ';
const TF_BACKEND: Record<BackendName, string> = { native: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };
const NATIVE_PACKAGE = '@tensorflow/tfjs-node';
const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';
const NATIVE_INSTALL_HINT = `npm install ${NATIVE_PACKAGE} for native speed`;

/** Why a faster backend was not used: it failed to start, or another one was forced. */
interface Skipped {
  name: BackendName;
  reason: string;
  forced?: boolean;
}

/** The info of the backend started last. */
let current: BackendInfo | null = null;
/** The `wasmFixes` option `current` was started with. */
let currentWasmFixes = true;
/** Where the automatic order landed and why: availability does not change within a process. */
let automatic: { name: BackendName; skipped: Skipped[] } | null = null;
/** Serialises calls, so that concurrent callers neither race `tf.setBackend` nor print twice. */
let queue: Promise<unknown> = Promise.resolve();
let wasmPathsSet = false;

/**
 * Starts the backend the course should compute on, installs the wasm fixes when it is wasm, and
 * prints one line saying which backend runs and why a faster one does not.
 *
 * Safe to call from every entry point: a call asking for what is already running returns the same
 * `BackendInfo` object without re-initialising or printing; a call asking for another backend (an
 * explicit `prefer`, or the default after a `prefer`) switches and prints.
 *
 * @param options `prefer` forces a backend (else `$ATTENTION_BACKEND`, else native -> wasm -> cpu);
 *   `wasmFixes: false` leaves the stock wasm kernels; `log` receives the line (`false`: silent).
 * @returns what was started.
 * @throws when `prefer` or `$ATTENTION_BACKEND` names an unknown backend, or when the forced
 *   backend cannot start; the message says what was asked, what is allowed and why it failed.
 */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const run = queue.then(() => start(options));
  queue = run.catch(() => undefined);
  return run;
}

/** The info of the backend `initBackend` started last, or `null` before the first call. */
export function backendInfo(): BackendInfo | null {
  return current;
}

/** How a backend was forced: by the option, or by the environment variable. */
interface Forced {
  name: BackendName;
  by: string;
}

function isBackendName(x: unknown): x is BackendName {
  return typeof x === 'string' && (BACKEND_NAMES as readonly string[]).includes(x);
}

function allowedList(): string {
  return BACKEND_NAMES.join(', ');
}

/** The forced backend, from `prefer` or the environment, validated. */
function forcedBackend(prefer: unknown): Forced | null {
  if (prefer !== undefined) {
    if (!isBackendName(prefer)) {
      throw new Error(
        `initBackend: expected prefer to be one of ${allowedList()}, got ${JSON.stringify(prefer)}`,
      );
    }
    return { name: prefer, by: `prefer: '${prefer}'` };
  }
  const raw = process.env[BACKEND_ENV_VAR];
  if (raw === undefined || raw.trim() === '') return null;
  const name = raw.trim().toLowerCase();
  if (!isBackendName(name)) {
    throw new Error(
      `initBackend: ${BACKEND_ENV_VAR}=${JSON.stringify(raw)} is not a backend: expected one of ` +
        `${allowedList()}, or unset to use the fastest that starts (native, then wasm, then cpu)`,
    );
  }
  return { name, by: `${BACKEND_ENV_VAR}=${name}` };
}

async function start(options: InitBackendOptions): Promise<BackendInfo> {
  const forced = forcedBackend(options.prefer);
  const wasmFixes = options.wasmFixes ?? true;
  const wanted = forced?.name ?? automatic?.name ?? null;
  if (current !== null && wanted === current.name && isStillRunning(current, wasmFixes)) {
    return current;
  }

  let name: BackendName;
  let skipped: Skipped[];
  if (forced !== null) {
    const failure = await tryStart(forced.name);
    if (failure !== null) throw new Error(forcedFailureMessage(forced, failure));
    name = forced.name;
    skipped = [{ name: forced.name, reason: `chosen by ${forced.by}`, forced: true }];
  } else if (automatic !== null) {
    const failure = await tryStart(automatic.name);
    if (failure !== null) {
      throw new Error(
        `initBackend: expected the ${automatic.name} backend to start again, got: ${failure}`,
      );
    }
    ({ name, skipped } = automatic);
  } else {
    ({ name, skipped } = await startFastest());
    automatic = { name, skipped };
  }

  const fixes = name === 'wasm' ? applyWasmFixes(wasmFixes) : [];
  const info = await describe(name, skipped, fixes);
  current = info;
  currentWasmFixes = wasmFixes;
  const log = options.log === undefined ? console.log : options.log;
  if (log !== false) log(info.summary);
  return info;
}

/** Whether `info` still describes what runs (nobody called tf.setBackend or removed a fix since). */
function isStillRunning(info: BackendInfo, wasmFixes: boolean): boolean {
  if (tf.getBackend() !== info.tfBackend) return false;
  if (info.name !== 'wasm') return true;
  const installed = installedWasmFixes();
  return (
    wasmFixes === currentWasmFixes &&
    installed.length === info.fixes.length &&
    installed.every((f, i) => f === info.fixes[i])
  );
}

function applyWasmFixes(on: boolean): string[] {
  if (on) return installWasmFixes();
  uninstallWasmFixes();
  return [];
}

/** Tries native, then wasm, then cpu; returns the first that starts and why the others did not. */
async function startFastest(): Promise<{ name: BackendName; skipped: Skipped[] }> {
  const skipped: Skipped[] = [];
  for (const name of BACKEND_NAMES) {
    const failure = await tryStart(name);
    if (failure === null) return { name, skipped };
    skipped.push({ name, reason: failure });
  }
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new Error(`initBackend: expected one of ${allowedList()} to start, got none (${why})`);
}

function forcedFailureMessage(forced: Forced, failure: string): string {
  const others = BACKEND_NAMES.filter((n) => n !== forced.name).join(', ');
  const howToInstall =
    forced.name === 'native'
      ? ` To get it: \`npm install ${NATIVE_PACKAGE}\` (its install script downloads ` +
        'libtensorflow, so it needs network access; it fails behind many proxies).'
      : '';
  const unforce = forced.by.startsWith('prefer')
    ? `omit prefer (with ${BACKEND_ENV_VAR} unset)`
    : `unset ${BACKEND_ENV_VAR}`;
  return (
    `initBackend: ${forced.by} asked for the ${forced.name} backend, but it cannot start: ` +
    `${failure}.${howToInstall} Use one of ${others} instead, or ${unforce} to use the fastest ` +
    'that starts.'
  );
}

/** Starts one backend; returns `null` on success, else why it failed (a short phrase). */
async function tryStart(name: BackendName): Promise<string | null> {
  try {
    if (name === 'native') {
      const failure = loadNative();
      if (failure !== null) return failure;
    } else if (name === 'wasm') {
      loadWasm();
    }
    if (name === 'cpu') {
      const cpu = tf.findBackend('cpu') as tf.KernelBackend | null;
      if (cpu !== null) silenceCpuNodeHint(cpu); // the summary line gives the real hint
    }
    const ok = await tf.setBackend(TF_BACKEND[name]);
    return ok
      ? null
      : `the ${TF_BACKEND[name]} backend failed to initialise (see the warning above)`;
  } catch (err) {
    return firstLine(err);
  }
}

/** Loads tfjs-node, which registers the 'tensorflow' backend; returns why it failed, or null. */
function loadNative(): string | null {
  try {
    // A plain require: the package is optional, and most machines here do not have it.
    require(NATIVE_PACKAGE);
  } catch (err) {
    if (isMissingModule(err, NATIVE_PACKAGE)) return `${NATIVE_PACKAGE} is not installed`;
    return `${NATIVE_PACKAGE} is installed but failed to load (${firstLine(err)})`;
  }
  if (!hasBackendFactory('tensorflow')) {
    return (
      `${NATIVE_PACKAGE} loaded but registered its backend on another copy of @tensorflow/tfjs ` +
      "(its version must match this course's @tensorflow/tfjs)"
    );
  }
  return null;
}

function hasBackendFactory(tfBackend: string): boolean {
  return (tf.findBackendFactory(tfBackend) as unknown) != null;
}

/** Why the wasm backend runs one thread although it could run more (`null`: it does not). */
let wasmOneThreadReason: string | null = null;

/**
 * Loads the wasm backend package, points it at its own .wasm binaries, and plans its threads
 * (`./wasm-threads`: the threaded build with real worker threads, or the single-threaded one).
 */
function loadWasm(): void {
  const wasm = require(WASM_PACKAGE) as typeof import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet) {
    // Without an explicit path the Node build looks for the binaries next to the calling script.
    const dir = path.dirname(require.resolve(`${WASM_PACKAGE}/package.json`));
    wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
    wasmPathsSet = true;
  }
  if (!wasmBackendStarted()) {
    // Threads are chosen when the backend first starts; a started one keeps its own.
    const plan = planWasmThreads();
    // One thread for a reason, or when forced, says why.
    const one = plan.threads === 1 && !plan.loopHelper;
    wasmOneThreadReason = one ? (plan.reason ?? (plan.by !== 'default' ? plan.by : null)) : null;
    installWasmThreads({ threads: plan.threads, loopHelper: plan.loopHelper });
  }
}

function isMissingModule(err: unknown, packageName: string): boolean {
  const e = err as { code?: string; message?: string };
  // A missing dependency *of* the package (e.g. its native addon) has the same code but names
  // another module: that is "installed but broken", not "not installed".
  return e?.code === 'MODULE_NOT_FOUND' && (e.message ?? '').includes(`'${packageName}'`);
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0].trim();
}

/** The note for `BackendInfo.notes`, and the phrase of the summary line, for a skipped backend. */
function explain(s: Skipped): { note: string; phrase: string } {
  if (s.forced) return { note: s.reason, phrase: s.reason };
  if (s.name !== 'native')
    return { note: `${s.name}: ${s.reason}`, phrase: `${s.name} failed: ${s.reason}` };
  const phrase = s.reason.endsWith('is not installed')
    ? `native TensorFlow not installed: ${NATIVE_INSTALL_HINT}`
    : `native TensorFlow not used: ${s.reason}`;
  return { note: s.reason, phrase };
}

/** How long `initBackend` waits for the loops' helper thread to come up. */
const LOOP_HELPER_START_TIMEOUT_MS = 10_000;

/**
 * Starts the course's loop helper on the wasm backend's shared heap and waits until it is up;
 * returns null then, or why it is not (a failed start, the loops switched off or unavailable).
 */
async function startLoopHelper(): Promise<string | null> {
  const helper = loopHelper(tf.backend() as BackendWasm);
  if (helper === null) return "the course's loops do not run on this heap";
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), LOOP_HELPER_START_TIMEOUT_MS);
    timer.unref();
  });
  const up = await Promise.race([helper.started, late]);
  clearTimeout(timer);
  if (up) return null;
  const why = helper.whyNot;
  helper.stop(); // one that comes up later must not make the summary line wrong
  return why ?? `not up within ${LOOP_HELPER_START_TIMEOUT_MS / 1000} s`;
}

/** Builds the info, including the printed summary, of a started backend. */
async function describe(
  name: BackendName,
  skipped: Skipped[],
  fixes: string[],
): Promise<BackendInfo> {
  const tfBackend = tf.getBackend();
  let simd: boolean | null = null;
  let threads = 1;
  let how: string;
  if (name === 'wasm') {
    const wasm = require(WASM_PACKAGE) as typeof import('@tensorflow/tfjs-backend-wasm');
    // The flag the backend read to choose its binary (cached by now).
    simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
    const pool = wasm.getThreadsCount();
    const started = wasmThreadsStatus();
    // The course's loops split large products with a helper thread on the threaded build's heap:
    // started here, so that it is up before the first product.
    const planned = started?.threaded === true && started.loopHelper && fixes.includes('matMul');
    const helperFailed = planned ? await startLoopHelper() : null;
    const helper = planned && helperFailed === null;
    threads = Math.max(pool, helper ? 2 : 1);
    const whyOne =
      started?.fallback != null
        ? `threads failed: ${started.fallback}`
        : helperFailed !== null
          ? `no helper thread: ${helperFailed}`
          : wasmOneThreadReason;
    how =
      `SIMD ${simd ? 'on' : 'off'}, ${threads} thread${threads === 1 ? '' : 's'}` +
      (threads === 1 && whyOne !== null ? ` (${whyOne})` : '') +
      (helper && pool < threads ? `, XNNPACK on ${pool}` : '');
  } else if (name === 'native') {
    // TensorFlow sizes its intra-op thread pool to the logical cores unless told otherwise.
    threads = os.availableParallelism();
    how = `TensorFlow C library, ${threads} threads`;
  } else {
    how = 'plain JavaScript, 1 thread';
  }
  const explained = skipped.map(explain);
  const summary =
    `${SUMMARY_PREFIX}${name} (${[how, ...explained.map((e) => e.phrase)].join('; ')})` +
    (fixes.length > 0 ? ` + fixes: ${fixes.join(', ')}` : '');
  return { name, tfBackend, simd, threads, fixes, notes: explained.map((e) => e.note), summary };
}

/**
 * Reads back the line `initBackend` prints (`backend: wasm (SIMD on, ...)`), e.g. from an executed
 * notebook's output, so tools report the backend a notebook really ran on.
 *
 * @param line one line of text.
 * @returns the backend's name and the details in parentheses, or `null` if `line` is not a summary.
 */
export function parseBackendSummary(line: string): { name: BackendName; details: string } | null {
  if (typeof line !== 'string') {
    throw new TypeError(`parseBackendSummary: expected a string, got ${typeof line}`);
  }
  const match = new RegExp(`^${SUMMARY_PREFIX}(\\w+)(?: \\((.*)\\))?`).exec(line.trim());
  if (!match || !(BACKEND_NAMES as readonly string[]).includes(match[1])) return null;
  return { name: match[1] as BackendName, details: match[2] ?? '' };
}
