/**
 * A second thread for the course's own SIMD loops (`small-matmul.wat`) when the wasm backend's
 * heap is shared (the threaded build, which `initBackend` starts by default on two or more cores):
 * the helper instantiates the same loops on the same memory in a Node worker, and the two threads
 * share a large product.
 *
 * Why a thread of our own: the threaded build's pool runs XNNPACK's kernels only, while the
 * products of a training step run in our loops, which are faster on one core; and a pool that
 * waits for all its threads after every kernel lost time whenever the other core was busy.
 *
 * How: a product is cut into chunks (rows of C, or batch slices), and both threads claim chunks
 * from one shared counter until none is left, so a helper that wakes late, or whose core is
 * busy, simply does fewer. They meet through a small shared control block and `Atomics.wait` /
 * `notify` (Node allows `Atomics.wait` on its main thread): the main thread opens a job, works
 * through chunks, closes the job, and waits only if the helper joined it and is still on its last
 * chunk. Each chunk writes rows of C no other touches, summed in the same order as on one thread,
 * so the result is bit-identical to the unshared loop. The helper starts in the background; until
 * it is up, and whenever it cannot start (a permission model without worker threads, say), every
 * product runs on the main thread.
 */
import { Worker } from 'node:worker_threads';

/** The loops a helper can run (exports of `small-matmul.wat`). */
export type HelperLoop = 'gemm' | 'bmm_nn' | 'bmm_nt';

const LOOP_NAMES: readonly HelperLoop[] = ['gemm', 'bmm_nn', 'bmm_nt'];

// The control block, Int32 slots.
/** The number of the newest job the main thread posted (-1: stop). */
const SEQ = 0;
/** The number of the newest job the helper finished. */
const DONE = 1;
/** 1 once the helper has its loops, -1 if it could not instantiate them. */
const READY = 2;
/** 1 if the helper's newest job threw (a trap: out-of-bounds pointers). */
const FAILED = 3;
/**
 * The job's state: its number while open, minus its number once the helper joined it, 0 once
 * the main thread closed it without the helper.
 */
const STATE = 4;
/** The next chunk to claim (both threads `Atomics.add` it). */
const NEXT = 5;
/** How many chunks, and how many units (rows or slices) in all and per chunk. */
const CHUNKS = 6;
const UNITS = 7;
const PER_CHUNK = 8;
/** Which loop the job runs (an index in `LOOP_NAMES`). */
const LOOP = 9;
/** Bytes the three pointer arguments (A, B, C) advance per unit. */
const DELTAS = 10;
/** The job's integer arguments (pointers, sizes, strides); argument 3 is the unit count. */
const ARGS = 13;
const MAX_ARGS = 12;
const SLOTS = ARGS + MAX_ARGS;

/**
 * How many times a thread polls before it sleeps in `Atomics.wait` (~0.15 ms here): the products
 * of a backward pass come in bursts, and waking a sleeping thread costs ~50-100 microseconds.
 * Measured on the mini-GPT step: 0 polls 106-110 ms, 2,000 97-106 ms, 20,000 91-97 ms.
 */
const SPINS = 20_000;

/** How long the main thread waits for the helper's chunk before it gives up. */
export const HELPER_TIMEOUT_MS = 60_000;

/**
 * Claims chunks of the job in `ctl` until none is left and runs each with `run`: the code both
 * threads run (as the helper's source too, through `toString`).
 */
function claimChunks(ctl: Int32Array, run: (args: number[]) => void): void {
  const chunks = ctl[CHUNKS];
  const units = ctl[UNITS];
  const perChunk = ctl[PER_CHUNK];
  for (;;) {
    const chunk = Atomics.add(ctl, NEXT, 1);
    if (chunk >= chunks) return;
    const first = chunk * perChunk;
    const args: number[] = [];
    for (let i = 0; i < MAX_ARGS; i++) args.push(ctl[ARGS + i]);
    for (let i = 0; i < 3; i++) args[i] += first * ctl[DELTAS + i];
    args[3] = Math.min(perChunk, units - first);
    run(args);
  }
}

/**
 * The helper's code (CommonJS, evaluated by the worker): instantiate the loops on the shared
 * memory, then join jobs until told to stop.
 */
const HELPER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, memory, control, names } = workerData;
const ctl = new Int32Array(control);
const [NEXT, CHUNKS, UNITS, PER_CHUNK, DELTAS, ARGS, MAX_ARGS] =
  [${NEXT}, ${CHUNKS}, ${UNITS}, ${PER_CHUNK}, ${DELTAS}, ${ARGS}, ${MAX_ARGS}];
const claimChunks = ${claimChunks.toString()};
(function serve() {
  let loops;
  try {
    loops = new WebAssembly.Instance(module, { env: { memory } }).exports;
  } catch (error) {
    Atomics.store(ctl, ${READY}, -1);
    Atomics.notify(ctl, ${READY});
    parentPort.postMessage('failed: ' + error.message);
    return;
  }
  Atomics.store(ctl, ${READY}, 1);
  Atomics.notify(ctl, ${READY});
  parentPort.postMessage('ready');
  let seen = Atomics.load(ctl, ${SEQ});
  for (;;) {
    let spins = ${SPINS};
    while (Atomics.load(ctl, ${SEQ}) === seen && spins-- > 0);
    if (Atomics.load(ctl, ${SEQ}) === seen) Atomics.wait(ctl, ${SEQ}, seen, 1000);
    const seq = Atomics.load(ctl, ${SEQ});
    if (seq === -1) return;
    if (seq === seen) continue;
    seen = seq;
    // Join only while the job is open: the main thread may have done every chunk already.
    if (Atomics.compareExchange(ctl, ${STATE}, seq, -seq) !== seq) continue;
    const loop = loops[names[ctl[${LOOP}]]];
    try {
      claimChunks(ctl, (args) => loop(...args));
      ctl[${FAILED}] = 0;
    } catch (error) {
      ctl[${FAILED}] = 1;
    }
    Atomics.store(ctl, ${DONE}, seq);
    Atomics.notify(ctl, ${DONE});
  }
})();
`;

/** A job for `LoopHelper.share`: one loop call cut into chunks of units (rows or slices). */
export interface SharedJob {
  /** The loop to run. */
  loop: HelperLoop;
  /** Its arguments for the whole job; argument 3 is the number of units, `units`. */
  args: readonly number[];
  /** Bytes that arguments 0, 1 and 2 (the pointers to A, B and C) advance per unit. */
  deltas: readonly [number, number, number];
  /** Units (rows of C for `gemm`, batch slices for `bmm_*`) in all. */
  units: number;
  /** Units per chunk. */
  perChunk: number;
}

/** A helper thread running the loops on one shared heap. */
export class LoopHelper {
  private readonly ctl: Int32Array;
  private readonly worker: Worker | null;
  private seq = 0;
  /** Why the helper is not running, when it is not. */
  private failure: string | null = null;
  /** Resolves once the helper is up (true) or has failed (false). */
  readonly started: Promise<boolean>;

  /**
   * Starts the helper (in the background) on `memory`, a shared `WebAssembly.Memory`, with
   * `module`, a build of the loops that imports a shared memory.
   */
  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory) {
    if (!(module instanceof WebAssembly.Module)) {
      throw new TypeError(
        `LoopHelper: expected module to be a WebAssembly.Module, got ${typeof module}`,
      );
    }
    if (!(memory instanceof WebAssembly.Memory) || !(memory.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError('LoopHelper: expected memory to be a shared WebAssembly.Memory');
    }
    this.ctl = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
    let resolveStarted: (up: boolean) => void = () => undefined;
    this.started = new Promise((resolve) => (resolveStarted = resolve));
    let worker: Worker | null = null;
    // The helper never keeps the process alive once it is up (or down); while it starts, whoever
    // awaits `started` must not see the process end under them.
    const settle = (up: boolean): void => {
      worker?.unref();
      resolveStarted(up);
    };
    try {
      worker = new Worker(HELPER_SOURCE, {
        eval: true,
        workerData: { module, memory, control: this.ctl.buffer, names: LOOP_NAMES },
      });
      worker.on('message', (message: string) => {
        if (message !== 'ready') this.failure = `the helper could not load the loops: ${message}`;
        settle(message === 'ready');
      });
      worker.on('error', (error) => {
        this.failure = `the helper thread failed: ${error.message}`;
        Atomics.store(this.ctl, READY, -1);
        settle(false);
      });
      worker.on('exit', () => {
        this.failure ??= 'the helper thread exited';
        Atomics.store(this.ctl, READY, -1);
        settle(false);
      });
    } catch (error) {
      this.failure = `no helper thread: ${(error as Error).message}`;
      Atomics.store(this.ctl, READY, -1);
      settle(false);
    }
    this.worker = worker;
  }

  /** Whether the helper is up and takes jobs. */
  get ready(): boolean {
    return Atomics.load(this.ctl, READY) === 1;
  }

  /** Why the helper takes no jobs (null while it is starting or running). */
  get whyNot(): string | null {
    if (Atomics.load(this.ctl, READY) === -1)
      return this.failure ?? 'the helper could not load the loops';
    return null;
  }

  /**
   * Waits (blocking, at most `timeoutMs`) until the helper is ready or has failed; true if ready.
   * For tests and benchmarks that need both threads from the first product on.
   */
  waitUntilReady(timeoutMs = 10_000): boolean {
    const end = Date.now() + timeoutMs;
    while (Atomics.load(this.ctl, READY) === 0 && Date.now() < end) {
      Atomics.wait(this.ctl, READY, 0, Math.max(1, end - Date.now()));
    }
    return this.ready;
  }

  /**
   * Runs `job` on both threads: its chunks are claimed one at a time by the main thread (through
   * `runHere`) and by the helper, so a helper that is slow to wake, or whose core is busy, gets
   * fewer of them; returns when every chunk is done. The chunks must write disjoint memory. Throws
   * if the helper's chunk trapped or did not finish within `HELPER_TIMEOUT_MS`.
   */
  share(job: SharedJob, runHere: (args: number[]) => void): void {
    if (!this.ready)
      throw new Error('LoopHelper.share: the helper is not ready (check `ready` first)');
    const { loop, args, deltas, units, perChunk } = job;
    if (!LOOP_NAMES.includes(loop)) {
      throw new RangeError(
        `LoopHelper.share: expected loop to be one of ${LOOP_NAMES.join(', ')}, got ${String(loop)}`,
      );
    }
    if (args.length < 4 || args.length > MAX_ARGS || args[3] !== units) {
      throw new RangeError(
        `LoopHelper.share: expected 4 to ${MAX_ARGS} arguments with argument 3 = units (${units}), got [${args.join(', ')}]`,
      );
    }
    if (!(Number.isInteger(perChunk) && perChunk >= 1 && Number.isInteger(units) && units >= 1)) {
      throw new RangeError(
        `LoopHelper.share: expected positive integer units and perChunk, got ${units} and ${perChunk}`,
      );
    }
    const ctl = this.ctl;
    const jobNumber = ++this.seq;
    ctl[LOOP] = LOOP_NAMES.indexOf(loop);
    for (let i = 0; i < args.length; i++) ctl[ARGS + i] = args[i];
    for (let i = 0; i < 3; i++) ctl[DELTAS + i] = deltas[i];
    ctl[UNITS] = units;
    ctl[PER_CHUNK] = perChunk;
    ctl[CHUNKS] = Math.ceil(units / perChunk);
    ctl[NEXT] = 0;
    Atomics.store(ctl, STATE, jobNumber); // open; publishes everything written above
    Atomics.store(ctl, SEQ, jobNumber);
    Atomics.notify(ctl, SEQ);
    try {
      claimChunks(ctl, runHere);
    } finally {
      // Even when this thread's chunk threw: the helper must be done before the next job's
      // arguments overwrite this one's.
      this.close(jobNumber, loop);
    }
    if (ctl[FAILED] !== 0) {
      ctl[FAILED] = 0;
      throw new Error(
        `LoopHelper.share: the helper's part of a ${loop} trapped (bad pointers or sizes)`,
      );
    }
  }

  /** Closes job `jobNumber`; if the helper joined it, waits until its last chunk is done. */
  private close(jobNumber: number, loop: HelperLoop): void {
    const ctl = this.ctl;
    if (Atomics.compareExchange(ctl, STATE, jobNumber, 0) === jobNumber) return;
    let spins = SPINS;
    while (Atomics.load(ctl, DONE) !== jobNumber && spins-- > 0);
    const end = Date.now() + HELPER_TIMEOUT_MS;
    while (Atomics.load(ctl, DONE) !== jobNumber) {
      if (Date.now() > end || Atomics.load(ctl, READY) !== 1) {
        this.failure = `the helper thread did not finish its part of a ${loop} in ${HELPER_TIMEOUT_MS / 1000} s`;
        Atomics.store(ctl, READY, -1);
        throw new Error(`${this.failure}; set ATTENTION_WASM_THREADS=1 to run without threads`);
      }
      Atomics.wait(ctl, DONE, Atomics.load(ctl, DONE), 1);
    }
  }

  /** Stops the helper thread (its loops stay usable on the main thread). */
  stop(): void {
    Atomics.store(this.ctl, READY, -1);
    this.failure = 'stopped';
    Atomics.store(this.ctl, SEQ, -1);
    Atomics.notify(this.ctl, SEQ);
    void this.worker?.terminate();
  }
}
